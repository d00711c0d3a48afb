using Vivim.Anchors;
using Vivim.Protocol.Model;

namespace Vivim.Tests.Grains;

/// <summary>How far a retention pass may drop the log: the window, the cap, and active clones' cursors, without a silo.</summary>
public sealed class RetentionScanTests
{
    private const long WindowStart = 10_000;
    private const long CapStart = 1_000;

    private static Commit At(long fromSeq, long toSeq, long timestamp) =>
        new("did:key:z", fromSeq, toSeq, "prev", [.. Enumerable.Range(0, (int)(toSeq - fromSeq + 1)).Select(i => $"root{fromSeq + i}")], $"root{toSeq}", [], timestamp);

    [Fact]
    public void The_horizons_are_the_last_commits_before_the_window_and_before_the_cap()
    {
        var scan = new RetentionScan(WindowStart, CapStart);

        // Out of order within a page, and one commit already seen (through seq 2).
        Assert.True(scan.Add([At(5, 6, 5_000), At(1, 2, 500), At(3, 4, 900)], after: 2));
        Assert.Equal((4L, "root4"), (scan.CapHorizon, scan.CapRoot));
        Assert.Equal((6L, "root6"), (scan.WindowHorizon, scan.WindowRoot));

        // A commit inside the window ends the scan; nothing after it counts.
        Assert.False(scan.Add([At(7, 7, 9_999), At(8, 9, 10_000), At(10, 10, 2_000)], after: 6));
        Assert.Equal(7, scan.WindowHorizon);
        Assert.Equal(4, scan.CapHorizon);
    }

    [Fact]
    public void Without_clones_the_log_goes_through_the_window_horizon()
    {
        var scan = new RetentionScan(WindowStart, CapStart);
        scan.Add([At(1, 3, 500), At(4, 6, 5_000), At(7, 8, 20_000)], after: 0);

        Assert.Equal((6L, "root6"), scan.Decide(new Dictionary<string, CloneCursor>()));
    }

    [Fact]
    public void An_active_clone_holds_the_log_back_to_its_cursor_but_never_past_the_cap()
    {
        var scan = new RetentionScan(WindowStart, CapStart);
        scan.Add([At(1, 3, 500), At(4, 6, 5_000), At(7, 8, 20_000)], after: 0);

        // Behind the window horizon but past the cap horizon: held at its cursor, whose root a commit must give.
        var (through, root) = scan.Decide(new Dictionary<string, CloneCursor> { ["c1"] = new(5, 9_000), ["c2"] = new(8, 9_000) });
        Assert.Equal(5, through);
        Assert.Null(root);

        // Behind the cap horizon: the cap wins.
        Assert.Equal((3L, "root3"), scan.Decide(new Dictionary<string, CloneCursor> { ["c1"] = new(1, 9_000) }));
    }

    [Fact]
    public void Clones_not_seen_within_the_cap_are_forgotten()
    {
        var scan = new RetentionScan(WindowStart, CapStart);
        var cursors = new Dictionary<string, CloneCursor> { ["idle"] = new(1, CapStart - 1), ["active"] = new(2, CapStart) };

        Assert.True(scan.DropIdleCursors(cursors));
        Assert.Equal(["active"], cursors.Keys);
        Assert.False(scan.DropIdleCursors(cursors));
    }

    [Fact]
    public void The_root_at_a_seq_comes_from_the_commit_that_covers_it()
    {
        Commit[] commits = [At(1, 3, 0), At(4, 6, 0)];

        Assert.Equal("root5", RetentionScan.RootAt(commits, 5));
        Assert.Equal("root3", RetentionScan.RootAt(commits, 3));
        Assert.Null(RetentionScan.RootAt(commits, 7));
    }
}
