using System.Diagnostics.CodeAnalysis;

namespace Vivim.Gateway.P2p.Gossip;

/// <summary>The GossipSub topic of a DID's commits: <c>/vivim/sync/&lt;did&gt;</c> (the SDK's <c>SYNC_TOPIC_PREFIX</c>).</summary>
public static class CommitTopics
{
    public const string Prefix = "/vivim/sync/";

    public static string For(string did) => Prefix + did;

    /// <summary>The DID a topic is about, when it is a commit topic with a non-empty DID.</summary>
    public static bool TryGetDid(string topic, [NotNullWhen(true)] out string? did)
    {
        did = topic.StartsWith(Prefix, StringComparison.Ordinal) && topic.Length > Prefix.Length ? topic[Prefix.Length..] : null;
        return did is not null;
    }
}
