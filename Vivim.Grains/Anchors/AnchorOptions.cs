namespace Vivim.Anchors;

/// <summary>Configuration section <c>Vivim:Anchors</c>: limits and retention of the anchors.</summary>
public sealed class AnchorOptions
{
    public const string Section = "Vivim:Anchors";

    /// <summary>Largest document (the update's <c>data</c>), in UTF-8 bytes.</summary>
    public int MaxDocumentBytes { get; set; } = 256 * 1024;

    /// <summary>Largest update JSON as received, in UTF-8 bytes (the document plus its envelope).</summary>
    public int MaxUpdateBytes { get; set; } = (256 * 1024) + (16 * 1024);

    public int MaxBatchUpdates { get; set; } = 1000;

    public int MaxPageUpdates { get; set; } = 1000;

    /// <summary>How far in the future an update's timestamp may be.</summary>
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long the log keeps updates (and so how old an accepted timestamp may be, since updateIds are remembered that long).</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>The log is kept past <see cref="Retention"/> for clones that acknowledged within this cap, and never longer.</summary>
    public TimeSpan RetentionCap { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often an active anchor applies the retention rules.</summary>
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long an anchor keeps pushing commits to a listener after it last said it is there
    /// (<see cref="IAnchorStateGrain.ListenAsync"/>): writes into a DID nobody watches go nowhere but the log. Listeners
    /// renew it at a quarter of it (<see cref="Feeds.DidFeed"/>); a newly activated anchor
    /// (after a failover) pushes again from the first renewal, and the same call hands listeners the head to fill from.
    /// </summary>
    public TimeSpan ListenerLease { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Most listeners one anchor pushes to (one per gateway silo and in-cluster consumer of the DID, so a handful);
    /// a lease beyond it is refused until one lapses.
    /// </summary>
    public int MaxListeners { get; set; } = 256;

    /// <summary>Most updates one retention pass reads to find the horizon (the rest waits for the next pass).</summary>
    public int RetentionScanUpdates { get; set; } = 50_000;
}
