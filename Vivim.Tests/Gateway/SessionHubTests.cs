using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Vivim.Anchors;
using Vivim.Clones;
using Vivim.ExitNodes;
using Vivim.Feeds;
using Vivim.Gateway.Sync;
using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Protocol.Sync;
using Vivim.Tests.Support;
using static Vivim.Tests.Gateway.SessionOutput;
using static Vivim.Tests.Grains.ExitNodeTestKit;

namespace Vivim.Tests.Gateway;

[Collection(ClusterCollection.Name)]
public sealed class SessionHubTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Client;

    private static OwnerUpdate Write(int i) => new(UpdateType.Memory, UpdateOperation.Create, $"memoryIndex/h/{i}", RawJson.From(new JsonObject { ["i"] = i }));

    private async Task<(IExitNodeGrain Node, SigningKey Parent, string CloneId)> NewCloneAsync()
    {
        var (parent, node, _) = await CreateNodeAsync(Grains);
        using var clone = SigningKey.Generate();
        return (node, parent, await RegisterApprovedAsync(node, clone));
    }

    [Fact]
    public async Task Backlog_comes_in_batches_of_at_most_maxBatchSize_then_live_in_seq_order_with_every_commit()
    {
        var (node, parent, cloneId) = await NewCloneAsync();
        for (var i = 0; i < 5; i++)
        {
            await node.WriteAsOwnerAsync(Enumerable.Range(i * 5, 5).Select(Write).ToList()); // 5 commits of 5
        }

        await using var hub = new SessionHub(fixture.Client, Options.Create(new SessionHubOptions()), NullLogger<SessionHub>.Instance);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var session = await hub.OpenAsync(cloneId, cursor: 0, maxBatchSize: 4, cancellationToken: timeout.Token);

        var seqs = new List<long>();
        var live = Task.Run(async () =>
        {
            await Task.Delay(300);
            await node.WriteAsOwnerAsync([Write(100)]);
            await node.WriteAsOwnerAsync([Write(101), Write(102)]);
        });

        await foreach (var message in session.Outgoing.ReadAllAsync(timeout.Token))
        {
            if (message is not SessionBatch batch)
            {
                continue;
            }

            Assert.InRange(batch.Updates.Count, 1, 4);
            foreach (var update in batch.Updates)
            {
                // Every update comes with the commit that covers it, signed by the parent.
                var commit = Assert.Single(batch.Commits, c => c.FromSeq <= update.Seq && update.Seq <= c.ToSeq);
                Assert.True(SignatureV2.Verify(SignedKind.Commit, ProtocolModel.ToJsonObject(commit), parent.PublicKey));
                seqs.Add(update.Seq);
            }

            await session.AcknowledgeAsync(batch.LastSeq);
            if (seqs.Count == 28)
            {
                break;
            }
        }

        await live;
        Assert.Equal(Enumerable.Range(1, 28).Select(i => (long)i), seqs);
    }

    [Fact]
    public async Task No_more_than_the_in_flight_bound_goes_out_unacknowledged()
    {
        var (node, _, cloneId) = await NewCloneAsync();
        for (var i = 0; i < 10; i++)
        {
            await node.WriteAsOwnerAsync([Write(i)]);
        }

        await using var hub = new SessionHub(fixture.Client, Options.Create(new SessionHubOptions { MaxInFlightBatches = 2 }), NullLogger<SessionHub>.Instance);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var session = await hub.OpenAsync(cloneId, cursor: 0, maxBatchSize: 1, cancellationToken: timeout.Token);
        Assert.Equal(2, session.MaxInFlightBatches);

        // Without acknowledgements only two batches come, however long we wait.
        var first = await NextBatchAsync(session, timeout.Token);
        var second = await NextBatchAsync(session, timeout.Token);
        await Task.Delay(500);
        Assert.False(session.Outgoing.TryRead(out var extra) && extra is SessionBatch, "a third batch went out unacknowledged");

        await session.AcknowledgeAsync(first.LastSeq);
        var third = await NextBatchAsync(session, timeout.Token);
        Assert.Equal((1L, 2L, 3L), (first.LastSeq, second.LastSeq, third.LastSeq));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => session.AcknowledgeAsync(99));
    }

    [Fact]
    public async Task Live_commits_that_queued_behind_a_full_in_flight_window_go_out_together_in_one_batch()
    {
        var (node, parent, cloneId) = await NewCloneAsync();
        var anchor = Grains.GetGrain<IAnchorStateGrain>(parent.Did.Value);
        using var capture = PushedEvents.Create(fixture.Client);
        await capture.ListenAsync(anchor);
        await using var hub = new SessionHub(fixture.Client, Options.Create(new SessionHubOptions { MaxInFlightBatches = 1 }), NullLogger<SessionHub>.Instance);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var session = await hub.OpenAsync(cloneId, cursor: 0, maxBatchSize: 10, cancellationToken: timeout.Token);

        // The first commit fills the window; three more arrive while it is unacknowledged.
        await node.WriteAsOwnerAsync([Write(0)]);
        var first = await NextBatchAsync(session, timeout.Token);
        await node.WriteAsOwnerAsync([Write(1)]);
        await node.WriteAsOwnerAsync([Write(2), Write(3)]);
        await node.WriteAsOwnerAsync([Write(4)]);

        // The captured pushes go to the hub's feed again, last first: one-way pushes can overtake each other, and the
        // session takes them in seq order. The pushes are one-way, so their calls return before the feed handled them:
        // the session's known head reaches 5 only once commit 5 (and, the feed delivering in order, those before it) queued.
        await capture.WaitForSeqAsync(5);
        var feed = hub.FeedOf(parent.Did.Value)!.ListenerReference;
        foreach (var pushed in capture.Batches.OrderByDescending(b => b.Commit.ToSeq))
        {
            await feed.OnEventAsync(pushed);
        }

        await Until.TrueAsync(() => session.KnownHead >= 5, () => $"the session knows of seq {session.KnownHead}, not 5");
        await session.AcknowledgeAsync(first.LastSeq);
        var rest = await NextBatchAsync(session, timeout.Token);
        Assert.Equal(1L, first.LastSeq);
        Assert.Equal([2L, 3, 4, 5], rest.Updates.Select(u => u.Seq));
        Assert.Equal([(2L, 2L), (3L, 4L), (5L, 5L)], rest.Commits.Select(c => (c.FromSeq, c.ToSeq)));
        foreach (var commit in rest.Commits)
        {
            Assert.True(SignatureV2.Verify(SignedKind.Commit, ProtocolModel.ToJsonObject(commit), parent.PublicKey));
        }

        await session.AcknowledgeAsync(rest.LastSeq); // one ack covers the merged batch
        Assert.Equal(5L, session.Cursor);
    }

    [Fact]
    public async Task Duplicate_and_out_of_order_pushes_neither_repeat_nor_skip_anything()
    {
        var (node, parent, cloneId) = await NewCloneAsync();
        var anchor = Grains.GetGrain<IAnchorStateGrain>(parent.Did.Value);
        using var capture = PushedEvents.Create(fixture.Client);
        await capture.ListenAsync(anchor);
        for (var i = 0; i < 4; i++)
        {
            await node.WriteAsOwnerAsync([Write(i)]);
        }

        for (var seq = 1; seq <= 4; seq++)
        {
            await capture.WaitForSeqAsync(seq);
        }

        var captured = capture.Batches.OrderBy(b => b.Commit.ToSeq).ToList();
        await using var hub = new SessionHub(fixture.Client, Options.Create(new SessionHubOptions()), NullLogger<SessionHub>.Instance);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var session = await hub.OpenAsync(cloneId, cursor: 0, cancellationToken: timeout.Token);

        // Pushes out of order and again, as a confused anchor would send them: a later commit first, old ones repeated.
        var feed = hub.FeedOf(parent.Did.Value)!.ListenerReference;
        await feed.OnEventAsync(captured[3]);
        await feed.OnEventAsync(captured[1]);
        await feed.OnEventAsync(captured[0]);
        await node.WriteAsOwnerAsync([Write(4)]);
        await feed.OnEventAsync(captured[2]);

        var seqs = new List<long>();
        while (seqs.Count < 5)
        {
            var batch = await NextBatchAsync(session, timeout.Token);
            seqs.AddRange(batch.Updates.Select(u => u.Seq));
            await session.AcknowledgeAsync(batch.LastSeq);
        }

        Assert.Equal([1L, 2, 3, 4, 5], seqs);
        await Task.Delay(300);
        Assert.False(session.Outgoing.TryRead(out var extra) && extra is SessionBatch, "something was sent twice");
    }

    [Fact]
    public async Task An_idle_session_sends_head_heartbeats_and_cursors_with_the_sent_root_reach_the_clone_grain()
    {
        var (node, _, cloneId) = await NewCloneAsync();
        await node.WriteAsOwnerAsync([Write(0)]);
        var options = new SessionHubOptions { HeartbeatInterval = TimeSpan.FromMilliseconds(300), CursorFlushInterval = TimeSpan.FromMilliseconds(100) };
        await using var hub = new SessionHub(fixture.Client, Options.Create(options), NullLogger<SessionHub>.Instance);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var session = await hub.OpenAsync(cloneId, cursor: 0, cancellationToken: timeout.Token);

        var batch = await NextBatchAsync(session, timeout.Token);
        await session.AcknowledgeAsync(batch.LastSeq);
        var head = await NextAsync<SessionHead>(session, timeout.Token);
        Assert.Equal(1, head.HeadSeq);

        // The cursor goes on at the session's next flush, which a slow machine may put after the heartbeat.
        var clone = Grains.GetGrain<ICloneGrain>(cloneId);
        await Until.TrueAsync(async () => (await clone.GetStatusAsync()).Cursor == 1, () => "the acknowledged cursor did not reach the clone grain");
        var status = await clone.GetStatusAsync();
        Assert.Equal(Assert.Single(batch.Commits).Root, status.Status.StateHash); // the session knows the root it sent for seq 1
        Assert.True(status.Status.Connected);
    }

    [Fact]
    public async Task A_session_opened_on_another_hub_replaces_the_clone_s_live_session_there_at_once()
    {
        // Two hubs stand for two gateway silos: only the Clone grain knows both sessions.
        var (node, _, cloneId) = await NewCloneAsync();
        await node.WriteAsOwnerAsync([Write(0)]);
        await using var first = new SessionHub(fixture.Client, Options.Create(new SessionHubOptions()), NullLogger<SessionHub>.Instance);
        await using var second = new SessionHub(fixture.Client, Options.Create(new SessionHubOptions()), NullLogger<SessionHub>.Instance);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var old = await first.OpenAsync(cloneId, cursor: 0, cancellationToken: timeout.Token);
        await NextBatchAsync(old, timeout.Token);

        await using var newer = await second.OpenAsync(cloneId, cursor: 0, cancellationToken: timeout.Token);
        var closed = await NextAsync<SessionClosed>(old, timeout.Token); // the grain's notice, well before any heartbeat (15 s)
        Assert.Equal(SessionCloseReason.Replaced, closed.Reason);
        Assert.Equal("session-replaced", closed.Description);

        // The newer session carries on, and the clone stays connected through it.
        var batch = await NextBatchAsync(newer, timeout.Token);
        await newer.AcknowledgeAsync(batch.LastSeq);
        await node.WriteAsOwnerAsync([Write(1)]);
        Assert.Equal(2, (await NextBatchAsync(newer, timeout.Token)).LastSeq);
        await old.DisposeAsync(); // detaching the replaced session leaves the live one attached
        Assert.True((await Grains.GetGrain<ICloneGrain>(cloneId).GetProgressAsync()).Status.Connected);
    }

    [Fact]
    public async Task A_replaced_session_whose_notice_never_came_ends_at_its_next_confirmation()
    {
        var (_, _, cloneId) = await NewCloneAsync();
        var options = new SessionHubOptions { HeartbeatInterval = TimeSpan.FromMilliseconds(300), CursorFlushInterval = TimeSpan.FromMilliseconds(100) };
        await using var hub = new SessionHub(fixture.Client, Options.Create(options), NullLogger<SessionHub>.Instance);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var session = await hub.OpenAsync(cloneId, cursor: 0, cancellationToken: timeout.Token);

        // The grain forgets its sessions (a reactivation) and a session nobody can tell attaches meanwhile: no notice
        // reaches the hub, so the session learns it from the grain when it confirms itself (had it confirmed in between,
        // it would be back in the grain's list with its hub, and the notice would close it).
        var clone = Grains.GetGrain<ICloneGrain>(cloneId);
        await fixture.Cluster.DeactivateAsync(clone.GetGrainId());
        await clone.AttachSessionAsync("elsewhere", null);

        var closed = await NextAsync<SessionClosed>(session, timeout.Token);
        Assert.Equal(SessionCloseReason.Replaced, closed.Reason);
        Assert.True(await clone.ConfirmSessionAsync("elsewhere", null));
    }

    private static Task<SessionBatch> NextBatchAsync(CloneSession session, CancellationToken token) => NextAsync<SessionBatch>(session, token);
}
