namespace Vivim.Gateway.P2p.Gossip;

/// <summary>How the gateway publishes and checks commits on GossipSub (<c>Vivim:P2p:Gossip</c>).</summary>
public sealed class CommitGossipOptions
{
    public const string Section = "Vivim:P2p:Gossip";

    /// <summary>
    /// While a DID's topic has subscribers and nothing was committed for this long, its latest commit is published
    /// again, so a lost message cannot leave a subscriber silently behind (API.md: once a minute).
    /// </summary>
    public TimeSpan IdleRepublishInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// On taking a DID over, at most this many commits after the last one this gateway knows was published are published
    /// again; further behind, only the latest (subscribers pull the gap).
    /// </summary>
    public int MaxCatchUpCommits { get; set; } = 64;

    /// <summary>
    /// A DID whose publishing could not start (its anchor unreachable for a moment, as right after a silo died) is
    /// tried again after this long, for as long as it is owned and subscribed.
    /// </summary>
    public TimeSpan StartRetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long "this DID is a hosted exit node" is believed before it is asked again.</summary>
    public TimeSpan KnownExitNodeTtl { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long "no such exit node here" is believed (a node created meanwhile is recognized after this).</summary>
    public TimeSpan UnknownExitNodeTtl { get; set; } = TimeSpan.FromSeconds(30);
}
