using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Vivim.Clones;
using Vivim.Feeds;
using Vivim.Management;
using Vivim.Protocol.Sync;
using Vivim.Protocol;
using Vivim.Security;
using Vivim.Telemetry;

namespace Vivim.Gateway.Sync;

/// <summary>
/// Live delivery to the clones connected to this process: one <see cref="DidFeed"/> per DID however many sessions
/// that DID has here (never one per connection), fanned out in memory to each session. The feed keeps the anchor
/// publishing, fills what the stream lost from the log and reports the head; sessions read their backlogs (and
/// whatever they dropped) through their Clone grains.
/// </summary>
public sealed class SessionHub : IAsyncDisposable, ICloneLagSource
{
    private readonly Dictionary<string, int> _sessionsPerClone = new(StringComparer.Ordinal); // under its own lock: connected clones
    private readonly IClusterClient _client;
    private readonly SessionHubOptions _options;
    private readonly ILogger<SessionHub> _logger;
    private readonly ConcurrentDictionary<string, DidSessions> _dids = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();

    private readonly CallPrincipals? _principals;

    public SessionHub(IClusterClient client, IOptions<SessionHubOptions> options, ILogger<SessionHub> logger, CallPrincipals? principals = null)
    {
        _client = client;
        _principals = principals;
        _options = options.Value;
        _logger = logger;
        _replacementsObject = new ReplacementNotices(this);
        _replacements = new Lazy<ICloneSessionObserver>(() => _client.CreateObjectReference<ICloneSessionObserver>(_replacementsObject));
        _ticker = Task.Run(TickLoopAsync);
    }

    private readonly ReplacementNotices _replacementsObject; // held here: the runtime keeps only a weak reference to it
    private readonly Lazy<ICloneSessionObserver> _replacements;

    /// <summary>Where Clone grains tell this hub that one of its sessions was replaced by a newer one (anywhere in the cluster).</summary>
    internal ICloneSessionObserver Replacements => _replacements.Value;

    private readonly Task _ticker;

    /// <summary>The feed of a DID with sessions here, or null (for tests that play the anchor).</summary>
    internal DidFeed? FeedOf(string did) => _dids.TryGetValue(did, out var sessions) ? sessions.Feed : null;

    /// <summary>One timer for all sessions: each tick lets idle sessions send heartbeats and pass their cursors on.</summary>
    private async Task TickLoopAsync()
    {
        var period = _options.CursorFlushInterval < _options.HeartbeatInterval ? _options.CursorFlushInterval : _options.HeartbeatInterval;
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                foreach (var feed in _dids.Values)
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
    public int SessionCount => _dids.Values.Sum(f => f.Sessions.Count);

    /// <summary>DIDs this hub is subscribed to.</summary>
    public int SubscribedDids => _dids.Count;

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
            grant = await clone.AttachSessionAsync(sessionId, Replacements).WaitAsync(cancellationToken);
        }

        var batchSize = Math.Clamp(maxBatchSize ?? grant.Config.MaxBatchSize, 1, 1000);
        var maxInFlight = Math.Max(1, Math.Min(grant.MaxInFlightBatches, _options.MaxInFlightBatches));

        DidSessions feed;
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
        lock (_sessionsPerClone)
        {
            _sessionsPerClone[cloneId] = _sessionsPerClone.GetValueOrDefault(cloneId) + 1;
            VivimMetrics.SessionOpened(firstOfClone: _sessionsPerClone[cloneId] == 1);
        }

        session.OfferHead(feed.Feed!.KnownHead);
        session.Start();
        return session;
    }

    internal async Task ReleaseAsync(CloneSession session)
    {
        if (_dids.TryGetValue(session.ParentDid, out var feed) && feed.Sessions.TryRemove(session.SessionId, out _))
        {
            lock (_sessionsPerClone)
            {
                var left = _sessionsPerClone.GetValueOrDefault(session.CloneId) - 1;
                if (left <= 0)
                {
                    _sessionsPerClone.Remove(session.CloneId);
                }
                else
                {
                    _sessionsPerClone[session.CloneId] = left;
                }

                VivimMetrics.SessionClosed(lastOfClone: left <= 0);
            }

            await ReleaseFeedAsync(feed);
        }
    }

    /// <summary>Head − cursor over the sessions attached here, now (for the management port's <c>/status</c>).</summary>
    public CloneLagSnapshot Read()
    {
        var (count, max, total) = (0, 0L, 0L);
        foreach (var feed in _dids.Values)
        {
            foreach (var session in feed.Sessions.Values)
            {
                var lag = Math.Max(0, session.KnownHead - session.Cursor);
                (count, max, total) = (count + 1, Math.Max(max, lag), total + lag);
            }
        }

        return new CloneLagSnapshot(count, max, total);
    }

    private async Task<DidSessions> AcquireFeedAsync(string did)
    {
        while (true)
        {
            var feed = _dids.GetOrAdd(did, d => new DidSessions(d));
            await feed.Gate.WaitAsync();
            try
            {
                if (feed.Removed)
                {
                    continue; // lost a race with the last session leaving; take the new feed
                }

                feed.Feed ??= await DidFeed.StartAsync(_client, did, feed, new DidFeedOptions
                {
                    ReconcileInterval = _options.ReconcileInterval,
                    CallScope = () => AsService(),
                    Logger = _logger,
                });
                feed.Users++;
                return feed;
            }
            finally
            {
                feed.Gate.Release();
            }
        }
    }

    private async Task ReleaseFeedAsync(DidSessions feed)
    {
        await feed.Gate.WaitAsync();
        try
        {
            if (--feed.Users > 0)
            {
                return;
            }

            feed.Removed = true;
            _dids.TryRemove(KeyValuePair.Create(feed.Did, feed));
            if (feed.Feed is { } didFeed)
            {
                await didFeed.DisposeAsync();
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

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _ticker;
        foreach (var feed in _dids.Values)
        {
            foreach (var session in feed.Sessions.Values)
            {
                await session.DisposeAsync();
            }
        }

        if (_replacements.IsValueCreated)
        {
            _client.DeleteObjectReference<ICloneSessionObserver>(_replacements.Value);
        }

        _stopping.Dispose();
    }

    private void OnSessionReplaced(string parentDid, string sessionId)
    {
        if (_dids.TryGetValue(parentDid, out var feed) && feed.Sessions.TryGetValue(sessionId, out var session))
        {
            session.Replace();
        }
    }

    /// <summary>The Clone grains' notices, handed to the session they name.</summary>
    private sealed class ReplacementNotices(SessionHub hub) : ICloneSessionObserver
    {
        public Task OnSessionReplacedAsync(string parentDid, string sessionId)
        {
            hub.OnSessionReplaced(parentDid, sessionId);
            return Task.CompletedTask;
        }
    }

    /// <summary>A DID's sessions in this process and the one feed they share.</summary>
    private sealed class DidSessions(string did) : IDidFeedObserver
    {
        public string Did { get; } = did;

        public SemaphoreSlim Gate { get; } = new(1, 1);

        public ConcurrentDictionary<string, CloneSession> Sessions { get; } = new(StringComparer.Ordinal);

        public DidFeed? Feed { get; set; }

        public int Users { get; set; }

        public bool Removed { get; set; }

        public ValueTask OnCommittedAsync(CommittedBatch batch)
        {
            var shared = SessionBatch.Live(batch); // immutable: one for every session
            foreach (var (_, session) in Sessions) // no snapshot copy of the sessions per commit
            {
                if (!session.TryDeliverLive(shared))
                {
                    session.OfferLive(shared);
                }
            }

            return ValueTask.CompletedTask;
        }

        public ValueTask OnHeadAsync(long headSeq)
        {
            foreach (var session in Sessions.Values)
            {
                session.OfferHead(headSeq);
            }

            return ValueTask.CompletedTask;
        }

        public ValueTask OnRevokedAsync(CloneAccessRevoked revoked)
        {
            foreach (var session in Sessions.Values.Where(s => string.Equals(s.CloneId, revoked.CloneId, StringComparison.Ordinal)))
            {
                session.Revoke(revoked.Reason);
            }

            return ValueTask.CompletedTask;
        }
    }
}
