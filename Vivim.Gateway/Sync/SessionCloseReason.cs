namespace Vivim.Gateway.Sync;

/// <summary>Why a live session ended; transports map it to their own close codes.</summary>
public enum SessionCloseReason
{
    /// <summary>Ended on purpose: the session was disposed or the hub stopped.</summary>
    Closed,

    /// <summary>The clone lost access (suspended, removed, deregistered).</summary>
    Revoked,

    /// <summary>Something broke while serving the session.</summary>
    Failed,

    /// <summary>A newer session of the same clone took its place (a clone has one live session, cluster-wide).</summary>
    Replaced,
}
