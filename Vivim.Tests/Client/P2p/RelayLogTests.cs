using Vivim.Client.P2p.Relay;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Tests.Client.P2p;

/// <summary>
/// What a relay re-serves from <see cref="RelayLog"/>: pages stop at its verified cursor, carry every commit overlapping
/// them, and once the oldest updates are gone a peer behind them is told to take the snapshot.
/// </summary>
public sealed class RelayLogTests
{
    [Fact]
    public void A_page_stops_at_the_verified_cursor_and_carries_every_commit_overlapping_it()
    {
        var log = new RelayLog();
        log.RecordPage(Page(Commit(1, 3), Commit(4, 4), Commit(5, 8)));

        var page = log.Page(afterSeq: 1, limit: 4, verifiedSeq: 8);
        Assert.Equal([2L, 3L, 4L, 5L], page.Updates.Select(u => u.Seq!.Value));
        Assert.Equal([(1L, 3L), (4L, 4L), (5L, 8L)], page.Commits.Select(c => (c.FromSeq, c.ToSeq)));

        // Pulled but not yet verified by the relay's own replica: not served.
        var verified = log.Page(afterSeq: 3, limit: 100, verifiedSeq: 4);
        Assert.Equal([4L], verified.Updates.Select(u => u.Seq!.Value));
        Assert.Equal(4, verified.HeadSeq);
        Assert.Empty(log.Page(afterSeq: 4, limit: 100, verifiedSeq: 4).Updates);

        Assert.Equal([(4L, 4L), (5L, 8L)], log.CommitsEndingIn(3, 8).Select(c => (c.FromSeq, c.ToSeq)));
        Assert.Empty(log.CommitsEndingIn(4, 7));
    }

    [Fact]
    public void The_oldest_updates_go_with_their_commits_and_a_peer_behind_them_is_told_to_resync()
    {
        var log = new RelayLog(maxUpdates: 4);
        log.RecordPage(Page(Commit(1, 2), Commit(3, 4)));
        log.RecordPage(Page(Commit(5, 6)));

        Assert.Equal(4, log.Count);
        Assert.True(log.Page(afterSeq: 0, limit: 10, verifiedSeq: 6).ResyncRequired);
        Assert.True(log.Page(afterSeq: 1, limit: 10, verifiedSeq: 6).ResyncRequired);
        var kept = log.Page(afterSeq: 2, limit: 10, verifiedSeq: 6);
        Assert.Equal([3L, 4L, 5L, 6L], kept.Updates.Select(u => u.Seq!.Value));
        Assert.Equal([(3L, 4L), (5L, 6L)], kept.Commits.Select(c => (c.FromSeq, c.ToSeq)));
        Assert.Empty(log.CommitsEndingIn(0, 2));
    }

    private static UpdatePage Page(params Commit[] commits) =>
        new([.. commits.SelectMany(c => Enumerable.Range((int)c.FromSeq, (int)(c.ToSeq - c.FromSeq + 1)).Select(s => Update(s)))], commits, commits[^1].ToSeq);

    private static Commit Commit(long from, long to) =>
        new("did:key:z6Mkparent", from, to, "prev", [.. Enumerable.Range(0, (int)(to - from + 1)).Select(i => $"root-{from + i}")], $"root-{to}", [], 0);

    private static StateUpdate Update(long seq) =>
        new($"u{seq}", UpdateType.Memory, 0, "did:key:z6Mkparent", string.Empty, UpdateOperation.Create, $"memoryIndex/{seq}", new RawJson("{}"), string.Empty, string.Empty, Seq: seq);
}
