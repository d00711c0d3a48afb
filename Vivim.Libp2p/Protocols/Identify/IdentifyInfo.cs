using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Protocols.Identify;

/// <summary>What we learned about a peer via identify (validated and parsed).</summary>
public sealed record IdentifyInfo(
    PeerId PeerId,
    Libp2pPublicKey PublicKey,
    string? ProtocolVersion,
    string? AgentVersion,
    IReadOnlyList<Multiaddr> ListenAddresses,
    Multiaddr? ObservedAddress,
    IReadOnlyList<string> Protocols)
{
    /// <summary>Validates a decoded message against the connection's authenticated peer; malformed addresses are dropped.</summary>
    public static IdentifyInfo FromMessage(IdentifyMessage m, PeerId expected, IdentifyInfo? previous = null)
    {
        Libp2pPublicKey key;
        if (m.PublicKey is not null)
        {
            key = Libp2pPublicKey.FromProtobuf(m.PublicKey);
            if (!expected.Matches(key))
            {
                throw new MalformedDataException("identify public key does not match the connection's peer id");
            }
        }
        else
        {
            key = previous?.PublicKey ?? expected.TryGetPublicKey() ?? throw new MalformedDataException("identify lacks a public key");
        }
        var addrs = new List<Multiaddr>();
        foreach (var a in m.ListenAddrs)
        {
            try
            {
                addrs.Add(Multiaddr.FromBytes(a));
            }
            catch (MalformedDataException)
            {
                // ignore addresses we cannot parse (unknown transports)
            }
        }
        Multiaddr? observed = null;
        if (m.ObservedAddr is not null)
        {
            try
            {
                observed = Multiaddr.FromBytes(m.ObservedAddr);
            }
            catch (MalformedDataException)
            {
            }
        }
        return new IdentifyInfo(expected, key,
            m.ProtocolVersion ?? previous?.ProtocolVersion,
            m.AgentVersion ?? previous?.AgentVersion,
            m.ListenAddrs.Count > 0 || previous is null ? addrs : previous.ListenAddresses,
            observed ?? previous?.ObservedAddress,
            m.Protocols.Count > 0 || previous is null ? m.Protocols.ToArray() : previous.Protocols);
    }
}
