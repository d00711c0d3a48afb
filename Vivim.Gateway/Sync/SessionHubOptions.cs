namespace Vivim.Gateway.Sync;

/// <summary>Configuration section <c>Vivim:Sessions</c>.</summary>
public sealed class SessionHubOptions
{
    public const string Section = "Vivim:Sessions";

    /// <summary>A head message goes out when a session has sent nothing for this long (API: at least every 15 s).</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How often the hub asks each DID's anchor for its head at most, so that a lost last event cannot leave sessions
    /// behind. Each DID's feed renews the anchor's listener lease at a quarter of it, and reconciles then too, whatever this is.
    /// </summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often a session passes its clone's acknowledged cursor on to the Clone grain (which persists it in batches too).</summary>
    public TimeSpan CursorFlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Unacknowledged batches a session may have outstanding.</summary>
    public int MaxInFlightBatches { get; set; } = 4;

    /// <summary>Messages queued for one session before it waits for its clone to read them.</summary>
    public int OutgoingCapacity { get; set; } = 16;
}
