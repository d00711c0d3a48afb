using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Orleans.Streams;
using Vivim.Anchors;
using Vivim.Clones;
using Vivim.Protocol;
using Vivim.Security;

namespace Vivim.Gateway.Sync;

/// <summary>
/// Live delivery to the clones connected to this process: one stream subscription per DID however many sessions
/// that DID has here (never one per connection), fanned out in memory to each session. The stream is a hint:
/// sessions fill gaps from the log, and the hub reconciles every DID with its anchor's head periodically.
/// </summary>
public sealed class SessionHub : IAsyncDisposable
{
    private readonly IClusterClient _client;
    private readonly SessionHubOptions _options;
    private readonly ILogger<SessionHub> _logger;
    private readonly ConcurrentDictionary<string, DidFeed> _feeds = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _reconciler;

    private readonly CallPrincipals? _principals;
    private int _shortLeaseReported;

    public SessionHub(IClusterClient client, IOptions<SessionHubOptions> options, ILogger<SessionHub> logger, CallPrincipals? principals = null)
    {
        _client = client;
        _principals = principals;
        _options = options.Value;
        _logger = logger;
        _reconciler = Task.Run(ReconcileLoopAsync);
        _ticker = Task.Run(TickLoopAsync);
    }

    private readonly Task _ticker;

    /// <summary>One timer for all sessions: each tick lets idle sessions send heartbeats and pass their cursors on.</summary>
    private async Task TickLoopAsync()
    {
        var period = _options.CursorFlushInterval < _options.HeartbeatInterval ? _options.CursorFlushInterval : _options.HeartbeatInterval;
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                foreach (var feed in _feeds.Values)
                {
                    foreach (var session in feed.Sessions.Values)
                    {
                        session.Tick();
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Grain calls made for a clone act as that clone, and the hub's own (streams, heads) as the gateway service; each
    /// call gets a fresh token, since sessions outlive one. In a process without a cluster secret (an in-cluster tool
    /// with operator credentials) there is nothing to enter.
    /// </summary>
    internal PrincipalScope AsClone(string cloneId) => _principals?.Enter(CallPrincipal.ForClone(cloneId)) ?? default;

    internal PrincipalScope AsService() => _principals?.Enter(CallPrincipal.Service) ?? default;

    /// <summary>Sessions attached here, over all DIDs.</summary>
    public int SessionCount => _feeds.Values.Sum(f => f.Sessions.Count);

    /// <summary>DIDs this hub is subscribed to.</summary>
    public int SubscribedDids => _feeds.Count;

    /// <summary>
    /// Attaches a live session for <paramref name="cloneId"/>: backlog from <paramref name="cursor"/> (or the clone's
    /// persisted cursor), in batches of at most <paramref name="maxBatchSize"/>, then live commits. Throws
    /// <see cref="CloneAccessDeniedException"/> when the clone may not read.
    /// </summary>
    public async Task<CloneSession> OpenAsync(string cloneId, long? cursor = null, int? maxBatchSize = null, CancellationToken cancellationToken = default)
    {
        var clone = _client.GetGrain<ICloneGrain>(cloneId);
        var sessionId = Guid.NewGuid().ToString("N");
        SessionGrant grant;
        using (AsClone(cloneId))
        {
            grant = await clone.AttachSessionAsync(sessionId).WaitAsync(cancellationToken);
        }

        var batchSize = Math.Clamp(maxBatchSize ?? grant.Config.MaxBatchSize, 1, 1000);
        var maxInFlight = Math.Max(1, Math.Min(grant.MaxInFlightBatches, _options.MaxInFlightBatches));

        DidFeed feed;
        try
        {
            feed = await AcquireFeedAsync(grant.ParentDid);
        }
        catch
        {
            using (AsClone(cloneId))
            {
                await clone.DetachSessionAsync(sessionId); // the clone must not stay "connected" through a session that never opened
            }

            throw;
        }

        var session = new CloneSession(this, clone, cloneId, sessionId, grant.ParentDid, cursor ?? grant.Cursor, batchSize, maxInFlight, _options, _logger);
        feed.Sessions[sessionId] = session;
        session.OfferHead(feed.KnownHead);
        session.Start();
        return session;
    }

    internal async Task ReleaseAsync(CloneSession session)
    {
        if (_feeds.TryGetValue(session.ParentDid, out var feed) && feed.Sessions.TryRemove(session.SessionId, out _))
        {
            await ReleaseFeedAsync(feed);
        }
    }

    private async Task<DidFeed> AcquireFeedAsync(string did)
    {
        while (true)
        {
            var feed = _feeds.GetOrAdd(did, d => new DidFeed(d));
            await feed.Gate.WaitAsync();
            try
            {
                if (feed.Removed)
                {
                    continue; // lost a race with the last session leaving; take the new feed
                }

                if (feed.Subscription is null)
                {
                    using var service = AsService();
                    var stream = _client.GetStreamProvider(AnchorStreams.Provider).GetStream<AnchorEvent>(StreamId.Create(AnchorStreams.Namespace, did));
                    feed.Subscription = await stream.SubscribeAsync((e, _) => DeliverAsync(feed, e));
                    var lease = await _client.GetGrain<IAnchorStateGrain>(did).ListenAsync();
                    feed.RaiseKnownHead(lease.Head.Seq);
                    if (lease.Duration < _options.ReconcileInterval * 2 && Interlocked.Exchange(ref _shortLeaseReported, 1) == 0)
                    {
                        // Renewals ride on reconciles: a lease this short lapses between them and live delivery stalls until the next one.
                        _logger.LogWarning("Anchors' listener lease ({Lease}) is under twice this hub's reconcile interval ({Interval}); raise Vivim:Anchors:ListenerLease", lease.Duration, _options.ReconcileInterval);
                    }
                }

                feed.Users++;
                return feed;
            }
            finally
            {
                feed.Gate.Release();
            }
        }
    }

    private async Task ReleaseFeedAsync(DidFeed feed)
    {
        await feed.Gate.WaitAsync();
        try
        {
            if (--feed.Users > 0)
            {
                return;
            }

            feed.Removed = true;
            _feeds.TryRemove(KeyValuePair.Create(feed.Did, feed));
            if (feed.Subscription is { } subscription)
            {
                using var service = AsService();
                await subscription.UnsubscribeAsync();
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogWarning(e, "Unsubscribing from {Did} failed", feed.Did);
        }
        finally
        {
            feed.Gate.Release();
        }
    }

    private Task DeliverAsync(DidFeed feed, AnchorEvent anchorEvent)
    {
        switch (anchorEvent)
        {
            case CommittedBatch batch when batch.Updates.Count > 0 && batch.Updates.Count == batch.Commit.ToSeq - batch.Commit.FromSeq + 1:
                feed.RaiseKnownHead(batch.Commit.ToSeq);
                var shared = new SessionBatch(batch.Updates, [batch.Commit], batch.Commit.ToSeq); // immutable: one for every session
                foreach (var session in feed.Sessions.Values)
                {
                    if (!session.TryDeliverLive(shared))
                    {
                        session.OfferLive(shared);
                    }
                }

                break;
            case CloneAccessRevoked revoked:
                foreach (var session in feed.Sessions.Values.Where(s => string.Equals(s.CloneId, revoked.CloneId, StringComparison.Ordinal)))
                {
                    session.Revoke(revoked.Reason);
                }

                break;
        }

        return Task.CompletedTask;
    }

    private async Task ReconcileLoopAsync()
    {
        using var timer = new PeriodicTimer(_options.ReconcileInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                foreach (var feed in _feeds.Values)
                {
                    try
                    {
                        AnchorHead head;
                        using (AsService())
                        {
                            // Renews the anchor's listener lease too, so it keeps publishing to this hub.
                            head = (await _client.GetGrain<IAnchorStateGrain>(feed.Did).ListenAsync().WaitAsync(_stopping.Token)).Head;
                        }

                        feed.RaiseKnownHead(head.Seq);
                        foreach (var session in feed.Sessions.Values)
                        {
                            session.OfferHead(head.Seq);
                        }
                    }
                    catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
                    {
                        _logger.LogWarning(e, "Reconciling {Did} with its anchor failed", feed.Did);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _reconciler;
        await _ticker;
        foreach (var feed in _feeds.Values)
        {
            foreach (var session in feed.Sessions.Values)
            {
                await session.DisposeAsync();
            }
        }

        _stopping.Dispose();
    }

    private sealed class DidFeed(string did)
    {
        public string Did { get; } = did;

        public SemaphoreSlim Gate { get; } = new(1, 1);

        public ConcurrentDictionary<string, CloneSession> Sessions { get; } = new(StringComparer.Ordinal);

        public StreamSubscriptionHandle<AnchorEvent>? Subscription { get; set; }

        public int Users { get; set; }

        public bool Removed { get; set; }

        private long _knownHead;

        public long KnownHead => Interlocked.Read(ref _knownHead);

        /// <summary>Heads only move forward, whichever of a stream event or a reconciliation reports first.</summary>
        public void RaiseKnownHead(long seq) => Seqs.RaiseTo(ref _knownHead, seq);
    }
}
