using System.Security.Cryptography;
using System.Text;

namespace Vivim.Protocol.Discovery;

/// <summary>
/// The DHT keys a hosted DID is announced under (API.md "Discovery"): sha2-256 multihashes, as a CIDv1 raw carries
/// them, of UTF-8 strings.
/// </summary>
public static class DiscoveryKeys
{
    public const string ExitNodePrefix = "/vivim/exit-node/";
    public const string CapabilityPrefix = "/vivim/capability/";

    /// <summary>Relay clones of a DID provide this key: other clones of the same parent may pull from them.</summary>
    public const string RelayPrefix = "/vivim/relay/";

    /// <summary>What go-libp2p's pubsub discovery looks up for a topic: the topic with a <c>floodsub:</c> prefix.</summary>
    public const string SyncTopicPrefix = "floodsub:/vivim/sync/";

    public static byte[] ExitNode(string did) => Multihash(ExitNodePrefix + did);

    public static byte[] Capability(string capability) => Multihash(CapabilityPrefix + capability);

    public static byte[] SyncTopic(string did) => Multihash(SyncTopicPrefix + did);

    public static byte[] Relay(string did) => Multihash(RelayPrefix + did);

    /// <summary>The sha2-256 multihash (code 0x12, length 0x20, digest) of <paramref name="text"/>'s UTF-8 bytes.</summary>
    public static byte[] Multihash(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return [0x12, 0x20, .. SHA256.HashData(Encoding.UTF8.GetBytes(text))];
    }
}
