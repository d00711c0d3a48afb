namespace Vivim.Clones;

/// <summary>Configuration section <c>Vivim:Clones</c>: how clone grains keep their state.</summary>
public sealed class CloneOptions
{
    public const string Section = "Vivim:Clones";

    /// <summary>
    /// How often a clone grain writes its acknowledged cursor when it changed (acks are not written one by one). The
    /// written cursor only serves status after a restart and the log's retention (a clone resumes from its own cursor),
    /// so it can lag; writing it every 2 s from 1,000 live clones of one SQLite node stalled that node's commits.
    /// </summary>
    public TimeSpan CursorFlushInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Live sync sessions (WebSockets) one clone may hold across the cluster. A new session over the bound replaces the
    /// oldest, which is closed with the error <c>session-replaced</c>: a clone reconnecting from a dead connection gets
    /// in at once, and one clone's credentials cannot hold a thousand sockets.
    /// </summary>
    public int MaxSessions { get; set; } = 1;
}
