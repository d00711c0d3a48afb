using Microsoft.Extensions.Logging;
using Vivim.Anchors;
using Vivim.Protocol;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Feeds;

/// <summary>
/// One consumer's view of a DID's commits: a listener (<see cref="IDidListener"/>) the anchor pushes to while its
/// lease holds, renewed at a quarter of the lease the anchor grants (whatever the reconcile interval); hands on commits
/// in seq order, reads from the log what the pushes lost (a gap by seq, or a head ahead of what arrived), and passes
/// on revocations. Gateways' session hubs, in-cluster clones and publishers to other networks each hold one per DID.
/// Not for use inside a grain (it continues on the thread pool).
/// </summary>
public sealed class DidFeed : IAsyncDisposable
{
    private const int FillPageSize = 1000;
    private static readonly TimeSpan MinRenewalPeriod = TimeSpan.FromMilliseconds(50);

    private readonly IClusterClient _client;
    private readonly IAnchorStateGrain _anchor;
    private readonly IDidFeedObserver _observer;
    private readonly DidFeedOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationToken _stoppingToken;
    private readonly Listener _listenerObject; // held here: the runtime keeps only a weak reference to it
    private IDidListener? _listener;
    private Task _renewals = Task.CompletedTask;
    private TimeSpan _period;
    private long _delivered; // under _gate
    private long _knownHead;
    private int _disposed;

    private DidFeed(IClusterClient client, string did, IDidFeedObserver observer, DidFeedOptions options)
    {
        Did = did;
        _client = client;
        _anchor = client.GetGrain<IAnchorStateGrain>(did);
        _listenerObject = new Listener(this);
        _observer = observer;
        _options = options;
        _logger = options.Logger;
        _stoppingToken = _stopping.Token;
    }

    public string Did { get; }

    /// <summary>The highest seq known to be committed: delivered, or reported by the anchor.</summary>
    public long KnownHead => Interlocked.Read(ref _knownHead);

    /// <summary>The reference the anchor pushes to (for tests that play the anchor).</summary>
    internal IDidListener ListenerReference => _listener ?? throw new InvalidOperationException("The feed has not started.");

    /// <summary>
    /// Takes a lease for its listener; commits after the head the anchor reports now go to <paramref name="observer"/>
    /// (earlier ones are the consumer's backlog to read).
    /// </summary>
    public static async Task<DidFeed> StartAsync(IClusterClient client, string did, IDidFeedObserver observer, DidFeedOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(did);
        ArgumentNullException.ThrowIfNull(observer);
        var feed = new DidFeed(client, did, observer, options ?? new DidFeedOptions());

        // Events that arrive before the starting head is known wait for it.
        await feed._gate.WaitAsync().ConfigureAwait(false);
        try
        {
            feed._listener = client.CreateObjectReference<IDidListener>(feed._listenerObject);
            try
            {
                ListenerLease lease;
                using (feed.EnterCallScope())
                {
                    lease = await feed._anchor.ListenAsync(feed._listener).ConfigureAwait(false);
                }

                feed._delivered = lease.Head.Seq;
                Seqs.RaiseTo(ref feed._knownHead, lease.Head.Seq);
                feed._period = feed.RenewalPeriod(lease.Duration);
            }
            catch
            {
                client.DeleteObjectReference<IDidListener>(feed._listener);
                throw;
            }
        }
        finally
        {
            feed._gate.Release();
        }

        feed._renewals = feed.RenewLoopAsync();
        return feed;
    }

    private IDisposable? EnterCallScope() => _options.CallScope?.Invoke();

    // Four renewals per lease: one lost call does not let it lapse. Each renewal reconciles, so more often only if asked.
    private TimeSpan RenewalPeriod(TimeSpan lease)
    {
        var period = TimeSpan.FromTicks(lease.Ticks / 4);
        if (_options.ReconcileInterval > TimeSpan.Zero && _options.ReconcileInterval < period)
        {
            period = _options.ReconcileInterval;
        }

        return period < MinRenewalPeriod ? MinRenewalPeriod : period;
    }

    private async Task OnEventAsync(DidEvent didEvent)
    {
        try
        {
            switch (didEvent)
            {
                case CommittedBatch batch when batch.IsWhole:
                    await _gate.WaitAsync(_stoppingToken).ConfigureAwait(false);
                    try
                    {
                        if (batch.Commit.FromSeq > _delivered + 1)
                        {
                            await FillAsync(batch.Commit.FromSeq - 1).ConfigureAwait(false);
                        }

                        // Older ones are duplicates or were read from the log; after an unfilled gap, the next event or reconcile fills it.
                        if (batch.Commit.FromSeq == _delivered + 1)
                        {
                            await DeliverAsync(batch).ConfigureAwait(false);
                        }
                    }
                    finally
                    {
                        _gate.Release();
                    }

                    break;
                case CloneAccessRevoked revoked:
                    await _observer.OnRevokedAsync(revoked).ConfigureAwait(false);
                    break;
            }
        }
        catch (OperationCanceledException) when (_stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogWarning(e, "The feed of {Did} failed to hand on an event", Did);
        }
    }

    private ValueTask DeliverAsync(CommittedBatch batch)
    {
        _delivered = batch.Commit.ToSeq;
        Seqs.RaiseTo(ref _knownHead, batch.Commit.ToSeq);
        return _observer.OnCommittedAsync(batch);
    }

    /// <summary>
    /// Reads commits after the last delivered one from the log and delivers them whole, until <paramref name="target"/>
    /// (under <see cref="_gate"/>). What the log no longer holds is skipped: consumers that need it take a snapshot.
    /// </summary>
    private async Task FillAsync(long target)
    {
        var carried = new List<StateUpdate>();
        var commits = new Dictionary<long, Commit>();
        while (_delivered < target)
        {
            var after = carried.Count == 0 ? _delivered : carried[^1].Seq!.Value;
            UpdatePage page;
            using (EnterCallScope())
            {
                page = (await _anchor.GetUpdatesAsync(after, FillPageSize).WaitAsync(_stoppingToken).ConfigureAwait(false)).Parse();
            }

            if (page.ResyncRequired)
            {
                _delivered = target;
                return;
            }

            if (page.Updates.Count == 0)
            {
                return;
            }

            carried.AddRange(page.Updates);
            foreach (var commit in page.Commits)
            {
                commits.TryAdd(commit.FromSeq, commit);
            }

            while (_delivered < target && commits.Remove(_delivered + 1, out var next))
            {
                var count = (int)(next.ToSeq - next.FromSeq + 1);
                if (carried.Count < count)
                {
                    commits[next.FromSeq] = next; // the rest of it is on the next page
                    break;
                }

                var updates = carried.GetRange(0, count);
                carried.RemoveRange(0, count);
                await DeliverAsync(new CommittedBatch(Did, next, updates)).ConfigureAwait(false);
            }

            if (_delivered < target && !commits.ContainsKey(_delivered + 1))
            {
                return; // a page always comes with the commits overlapping it; without one, stop rather than guess
            }
        }
    }

    private async Task RenewLoopAsync()
    {
        // The next renewal is armed before the reconcile runs: it counts from this renewal, however long a fill takes.
        var next = Task.Delay(_period, _options.TimeProvider, _stoppingToken);
        while (true)
        {
            try
            {
                await next.ConfigureAwait(false);
                ListenerLease lease;
                using (EnterCallScope())
                {
                    lease = await _anchor.ListenAsync(_listener!).WaitAsync(_stoppingToken).ConfigureAwait(false);
                }

                _period = RenewalPeriod(lease.Duration);
                next = Task.Delay(_period, _options.TimeProvider, _stoppingToken);
                await ReconcileAsync(lease.Head.Seq).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A missed renewal only delays live delivery: the next one fills from the log.
                _logger.LogWarning(e, "Renewing the lease on {Did} or reconciling with its head failed", Did);
            }

            if (next.IsCompleted)
            {
                next = Task.Delay(_period, _options.TimeProvider, _stoppingToken);
            }
        }
    }

    private async Task ReconcileAsync(long headSeq)
    {
        Seqs.RaiseTo(ref _knownHead, headSeq);
        await _gate.WaitAsync(_stoppingToken).ConfigureAwait(false);
        try
        {
            if (headSeq > _delivered)
            {
                await FillAsync(headSeq).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
        {
            // Consumers still hear of the head below and can read what they need themselves.
            _logger.LogWarning(e, "Reading {Did}'s log up to its head failed", Did);
        }
        finally
        {
            _gate.Release();
        }

        await _observer.OnHeadAsync(headSeq).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _renewals.ConfigureAwait(false);
        try
        {
            // The anchor forgets the listener when its lease lapses; pushes until then find no object and are dropped.
            if (_listener is { } listener)
            {
                _client.DeleteObjectReference<IDidListener>(listener);
            }
        }
        finally
        {
            _stopping.Dispose();
        }
    }

    /// <summary>The pushed events, handed to the feed one at a time (the runtime awaits each before the next).</summary>
    private sealed class Listener(DidFeed feed) : IDidListener
    {
        public Task OnEventAsync(DidEvent didEvent) => feed.OnEventAsync(didEvent);
    }
}
