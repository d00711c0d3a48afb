using Vivim.Protocol.Model;

namespace Vivim.Anchors;

/// <summary>
/// One retention pass's decision, without the log or the grain: which commits lie before the retention window and
/// before the cap (fed page by page, in seq order), and from those and the clones' cursors, how far the log may go.
/// Active clones (seen within the cap) hold the log back to their cursor; nothing is kept past the cap.
/// </summary>
internal sealed class RetentionScan(long windowStartMs, long capStartMs)
{
    /// <summary>The last seq committed before the window (0: none), and its root.</summary>
    public long WindowHorizon { get; private set; }

    public string? WindowRoot { get; private set; }

    /// <summary>The last seq committed before the cap (0: none), and its root.</summary>
    public long CapHorizon { get; private set; }

    public string? CapRoot { get; private set; }

    /// <summary>Takes one page's commits (those through <paramref name="after"/> were seen already); false once a commit inside the window ends the scan.</summary>
    public bool Add(IEnumerable<Commit> commits, long after)
    {
        foreach (var commit in commits.OrderBy(c => c.FromSeq))
        {
            if (commit.ToSeq <= after)
            {
                continue;
            }

            if (commit.Timestamp >= windowStartMs)
            {
                return false;
            }

            (WindowHorizon, WindowRoot) = (commit.ToSeq, commit.Root);
            if (commit.Timestamp < capStartMs)
            {
                (CapHorizon, CapRoot) = (commit.ToSeq, commit.Root);
            }
        }

        return true;
    }

    /// <summary>Forgets cursors not reported within the cap; true when any was removed.</summary>
    public bool DropIdleCursors(Dictionary<string, CloneCursor> cursors)
    {
        var idle = cursors.Where(c => c.Value.SeenAt < capStartMs).Select(c => c.Key).ToList();
        foreach (var cloneId in idle)
        {
            cursors.Remove(cloneId);
        }

        return idle.Count > 0;
    }

    /// <summary>
    /// The seq through which the log may be dropped (the caller drops nothing when that is before its first retained
    /// seq), and its root when a horizon knows it (null: look it up with <see cref="RootAt"/>).
    /// </summary>
    public (long Through, string? Root) Decide(IReadOnlyDictionary<string, CloneCursor> activeCursors)
    {
        var activeFloor = activeCursors.Count == 0 ? long.MaxValue : activeCursors.Values.Min(c => c.Seq);
        var through = Math.Max(CapHorizon, Math.Min(WindowHorizon, activeFloor));
        var root = through == WindowHorizon ? WindowRoot : through == CapHorizon ? CapRoot : null;
        return (through, root);
    }

    /// <summary>The root after <paramref name="seq"/>, from the commits that cover it (null when none does).</summary>
    public static string? RootAt(IEnumerable<Commit> commits, long seq) =>
        commits
            .Where(c => c.FromSeq <= seq && seq <= c.ToSeq)
            .Select(c => c.Roots[(int)(seq - c.FromSeq)])
            .FirstOrDefault();
}
