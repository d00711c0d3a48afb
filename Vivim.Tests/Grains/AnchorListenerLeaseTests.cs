using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;
using Vivim.Anchors;
using Vivim.Client.Transports;
using Vivim.ExitNodes;
using Vivim.Feeds;
using Vivim.Gateway.Sync;
using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;
using Vivim.Security;
using Vivim.Storage;
using Vivim.Tests.Support;
using static Vivim.Tests.Grains.ExitNodeTestKit;

namespace Vivim.Tests.Grains;

/// <summary>
/// An anchor pushes commits to a listener only while its lease holds; on a cluster of its own whose lease is one
/// second on a clock the test advances (<see cref="SiloClock"/>), so that a lease lapses exactly when the test says.
/// Listeners renew on real time; the test sees each renewal finish in the silo before it moves the clock on.
/// </summary>
public sealed class AnchorListenerLeaseTests : IAsyncLifetime
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(1);
    private const int MaxListeners = 4;

    private readonly FakeTimeProvider _clock = SiloClock.StartNow();
    private readonly FinishedGrainCalls _calls = new();
    private InProcessTestCluster _cluster = null!;

    private IClusterClient Client => _cluster.Client;

    public async Task InitializeAsync() => _cluster = await ClusterFixture.StartOwnAsync(
        new Dictionary<string, string?>
        {
            ["Vivim:Anchors:ListenerLease"] = Lease.ToString(),
            ["Vivim:Anchors:MaxListeners"] = MaxListeners.ToString(System.Globalization.CultureInfo.InvariantCulture),
        },
        silo =>
        {
            silo.UseClock(_clock);
            silo.Services.AddSingleton<IIncomingGrainCallFilter>(_calls);
        });

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Commits_are_pushed_to_a_listener_only_while_its_lease_holds()
    {
        var (parent, anchor) = await NewAnchorAsync();
        using var listener = PushedEvents.Create(Client);

        // Nobody has said they listen: the commit is stored but pushed nowhere.
        Assert.Equal(1, Assert.Single((await anchor.SubmitAsync([SignedUpdates.Create(parent, "nodes/1", new JsonObject())])).Receipts).Seq);
        Assert.Equal(0, await anchor.CountListenersAsync());

        // A listener's call starts the lease and reports the head it may have missed.
        var lease = await listener.ListenAsync(anchor);
        Assert.Equal(1, lease.Head.Seq);
        Assert.Equal(Lease, lease.Duration);
        Assert.Equal(1, await anchor.CountListenersAsync());
        await anchor.SubmitAsync([SignedUpdates.Create(parent, "nodes/2", new JsonObject())]);
        await listener.WaitForSeqAsync(2);

        // Not renewed: pushes stop.
        _clock.Advance(Lease * 1.5);
        Assert.Equal(0, await anchor.CountListenersAsync());
        await anchor.SubmitAsync([SignedUpdates.Create(parent, "nodes/3", new JsonObject())]);

        // A fence for "not pushed": renewed, the next commit reaches the listener, and pushes to one listener arrive in order.
        await listener.ListenAsync(anchor);
        var fence = Assert.Single((await anchor.SubmitAsync([SignedUpdates.Create(parent, "nodes/fence", new JsonObject())])).Receipts).Seq;
        await listener.WaitForSeqAsync(fence);
        Assert.Equal([2L, 4L], listener.Seqs.Order());
    }

    [Fact]
    public async Task An_anchor_pushes_to_at_most_its_configured_number_of_listeners()
    {
        var (_, anchor) = await NewAnchorAsync();
        var listeners = Enumerable.Range(0, MaxListeners).Select(_ => PushedEvents.Create(Client)).ToList();
        using var extra = PushedEvents.Create(Client);
        try
        {
            foreach (var listener in listeners)
            {
                await listener.ListenAsync(anchor);
            }

            await listeners[0].ListenAsync(anchor); // a renewal is not a new listener
            await Assert.ThrowsAsync<InvalidOperationException>(() => extra.ListenAsync(anchor));
            Assert.Equal(MaxListeners, await anchor.CountListenersAsync());

            // Once the leases lapse there is room again.
            _clock.Advance(Lease * 1.5);
            await extra.ListenAsync(anchor);
            Assert.Equal(1, await anchor.CountListenersAsync());
        }
        finally
        {
            listeners.ForEach(l => l.Dispose());
        }
    }

    [Fact]
    public async Task A_stream_listener_keeps_renewing_while_it_is_subscribed()
    {
        var (parent, anchor) = await NewAnchorAsync();
        var observer = new BatchObserver();
        var listener = await AnchorListener.SubscribeAsync(Client, parent.Did.Value, null, observer);
        await using (listener)
        {
            await OutliveLeasesAsync();
            Assert.Equal(1, await anchor.CountListenersAsync());
            await anchor.SubmitAsync([SignedUpdates.Create(parent, "nodes/1", new JsonObject())]);
            await observer.First.Task.WaitAsync(Until.Patience);
        }

        // Once it is gone the lease lapses.
        _clock.Advance(Lease * 1.5);
        Assert.Equal(0, await anchor.CountListenersAsync());
    }

    [Fact]
    public async Task A_session_hub_keeps_every_DID_it_serves_pushed_with_a_reconcile_interval_longer_than_the_lease()
    {
        var (parent, node, _) = await CreateNodeAsync(Client);
        using var clone = SigningKey.Generate();
        var cloneId = await RegisterApprovedAsync(node, clone);
        await using var hub = new SessionHub(Client, Options.Create(new SessionHubOptions { ReconcileInterval = Lease * 10 }), NullLogger<SessionHub>.Instance);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var session = await hub.OpenAsync(cloneId, cursor: 0, cancellationToken: timeout.Token);

        await OutliveLeasesAsync();
        Assert.Equal(1, await Client.GetGrain<IAnchorStateGrain>(parent.Did.Value).CountListenersAsync());
    }

    [Fact]
    public async Task A_feed_renews_at_a_quarter_of_the_lease_whatever_its_reconcile_interval_and_reconciles_each_time()
    {
        var (parent, anchor) = await NewAnchorAsync();
        var time = new FakeTimeProvider();
        var observer = new FeedObserver();
        await using var feed = await DidFeed.StartAsync(Client, parent.Did.Value, observer, new DidFeedOptions { ReconcileInterval = TimeSpan.FromHours(1), TimeProvider = time });

        // Each quarter of the lease on the feed's clock is one renewal, which reports the head.
        for (var i = 0; i < 3; i++)
        {
            time.Advance(Lease / 4);
            Assert.Equal(0, await observer.Heads.Reader.ReadAsync().AsTask().WaitAsync(Until.Patience));
        }

        // A commit reaches the feed (pushed, or at the next renewal from the log) and the next head says so.
        await anchor.SubmitAsync([SignedUpdates.Create(parent, "nodes/1", new JsonObject())]);
        time.Advance(Lease / 4);
        Assert.Equal(1, await observer.Heads.Reader.ReadAsync().AsTask().WaitAsync(Until.Patience));
        Assert.Equal([1L], observer.CommittedSeqs());
        Assert.Equal(1, feed.KnownHead);
    }

    [Fact]
    public async Task A_feed_reads_from_the_log_the_commits_that_were_not_pushed_and_hands_all_on_in_order()
    {
        var (parent, anchor) = await NewAnchorAsync();
        var observer = new FeedObserver();
        var time = new FakeTimeProvider(); // frozen (unlike the silo's): the feed never renews by itself here
        await using var feed = await DidFeed.StartAsync(Client, parent.Did.Value, observer, new DidFeedOptions { TimeProvider = time });

        // The feed's lease lapses; these commits are stored but not pushed.
        _clock.Advance(Lease * 1.5);
        for (var i = 1; i <= 3; i++)
        {
            await anchor.SubmitAsync([SignedUpdates.Create(parent, $"nodes/{i}", new JsonObject()), SignedUpdates.Create(parent, $"nodes/{i}b", new JsonObject())]);
        }

        // The feed's lease is renewed (as its next renewal would, without the reconcile): the next commit is pushed,
        // and the feed sees a gap before it.
        await anchor.ListenAsync(feed.ListenerReference);
        await anchor.SubmitAsync([SignedUpdates.Create(parent, "nodes/4", new JsonObject())]);
        await observer.WaitForAsync(7);
        Assert.Equal([1L, 2, 3, 4, 5, 6, 7], observer.CommittedSeqs());
        Assert.Equal([(1L, 2L), (3L, 4L), (5L, 6L), (7L, 7L)], observer.Commits());
    }

    /// <summary>
    /// Moves the silo's clock three leases on, three quarters of a lease at a time, each step only after a renewal that
    /// began after the previous step: a listener that renews keeps its lease throughout, one that does not loses it at
    /// the second step. (Renewals of one listener are sequential, so of two that finish after a step, the second began after it.)
    /// </summary>
    private async Task OutliveLeasesAsync()
    {
        const string listen = nameof(IAnchorStateGrain.ListenAsync);
        for (var step = 0; step < 4; step++)
        {
            await _calls.AfterAsync(listen, _calls.Count(listen) + 1);
            _clock.Advance(Lease * 0.75);
        }
    }

    private async Task<(SigningKey Parent, IAnchorStateGrain Anchor)> NewAnchorAsync()
    {
        var parent = SigningKey.Generate();
        var anchor = Client.GetGrain<IAnchorStateGrain>(parent.Did.Value);
        await anchor.InitializeAsync(new AnchorSetup(SignedUpdates.TestVault.Seal(parent.ExportSeed(), parent.Did.Value)));
        return (parent, anchor);
    }

    private sealed class BatchObserver : ILiveSyncObserver
    {
        public TaskCompletionSource<CommittedBatch> First { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long Cursor => 0;

        public SyncConfig Config { get; } = new();

        public ValueTask OnBatchAsync(CommittedBatch batch)
        {
            First.TrySetResult(batch);
            return ValueTask.CompletedTask;
        }

        public ValueTask OnUpdatesAsync(LiveUpdates updates) => ValueTask.CompletedTask;

        public ValueTask OnHeadAsync(long headSeq) => ValueTask.CompletedTask;

        public ValueTask OnRevokedAsync(string reason) => ValueTask.CompletedTask;
    }

    /// <summary>What a feed handed on, in order.</summary>
    private sealed class FeedObserver : IDidFeedObserver
    {
        private readonly List<CommittedBatch> _batches = [];
        private readonly SemaphoreSlim _arrived = new(0, int.MaxValue);

        public Channel<long> Heads { get; } = Channel.CreateUnbounded<long>();

        public List<long> CommittedSeqs()
        {
            lock (_batches)
            {
                return [.. _batches.SelectMany(b => b.Updates).Select(u => u.Seq!.Value)];
            }
        }

        public List<(long, long)> Commits()
        {
            lock (_batches)
            {
                return [.. _batches.Select(b => (b.Commit.FromSeq, b.Commit.ToSeq))];
            }
        }

        public async Task WaitForAsync(long seq)
        {
            while (!CommittedSeqs().Contains(seq))
            {
                Assert.True(await _arrived.WaitAsync(Until.Patience), $"seq {seq} did not arrive within {Until.Patience.TotalSeconds:0} s");
            }
        }

        public ValueTask OnCommittedAsync(CommittedBatch batch)
        {
            lock (_batches)
            {
                _batches.Add(batch);
            }

            _arrived.Release();
            return ValueTask.CompletedTask;
        }

        public ValueTask OnHeadAsync(long headSeq) => Heads.Writer.WriteAsync(headSeq);

        public ValueTask OnRevokedAsync(CloneAccessRevoked revoked) => ValueTask.CompletedTask;
    }
}
