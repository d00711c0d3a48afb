using System.Text;
using Vivim.Anchors;
using Vivim.Feeds;
using Vivim.Libp2p.Protocols.Pubsub;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;
using Vivim.Security;
using Vivim.Telemetry;

namespace Vivim.Gateway.P2p.Gossip;

/// <summary>
/// Publishing one DID's commits on its topic while the topic has subscribers: follows the DID through a
/// <see cref="DidFeed"/> (in seq order, gaps filled from the log), publishes each commit's JSON once, never an older
/// one after a newer, and re-publishes the latest when nothing was committed for
/// <see cref="CommitGossipOptions.IdleRepublishInterval"/>.
/// </summary>
internal sealed class DidPublication : IDidFeedObserver, IAsyncDisposable
{
    private const int PageSize = 1000;

    private readonly IClusterClient _client;
    private readonly GossipSub _pubsub;
    private readonly CommitValidator _validator;
    private readonly CommitGossipOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CallPrincipals? _principals;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ITimer _idle;
    private DidFeed? _feed;
    private byte[]? _latest; // under _gate
    private long _latestSeq; // under _gate
    private DateTimeOffset _latestAt; // under _gate
    private long _published;
    private int _disposed;
    private bool _started;

    public DidPublication(string did, IClusterClient client, GossipSub pubsub, CommitValidator validator, CommitGossipOptions options, TimeProvider time, ILogger logger, CallPrincipals? principals)
    {
        Did = did;
        Topic = CommitTopics.For(did);
        _client = client;
        _pubsub = pubsub;
        _validator = validator;
        _options = options;
        _time = time;
        _logger = logger;
        _principals = principals;
        _idle = time.CreateTimer(static s => ((DidPublication)s!).OnIdleTick(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public string Did { get; }

    public string Topic { get; }

    /// <summary>Following the DID: every commit from here on is published.</summary>
    public bool Started => Volatile.Read(ref _started);

    /// <summary>The toSeq of the last commit published (0 before any).</summary>
    public long LatestSeq => Interlocked.Read(ref _latestSeq);

    /// <summary>Messages published, re-publications included.</summary>
    public long Published => Interlocked.Read(ref _published);

    private PrincipalScope AsService() => _principals?.Enter(CallPrincipal.Service) ?? default;

    /// <summary>
    /// Starts following the DID and publishes from its head: every commit after <paramref name="lastKnownPublished"/>
    /// when that is known and not far behind, else the latest commit again (a subscriber sees the head and pulls a gap).
    /// </summary>
    public async Task StartAsync(long? lastKnownPublished)
    {
        // Live commits wait for the catch-up: otherwise a newer one going out first would make the catch-up skip its older ones.
        await _gate.WaitAsync();
        try
        {
            _feed = await DidFeed.StartAsync(_client, Did, this, new DidFeedOptions { CallScope = () => AsService(), Logger = _logger });
            var head = _feed.KnownHead;
            if (head >= 1)
            {
                var after = lastKnownPublished is { } known && known < head && head - known <= _options.MaxCatchUpCommits ? known : head - 1;
                foreach (var commit in await ReadCommitsAsync(after, head))
                {
                    await PublishLockedAsync(commit, again: false);
                }
            }

            Volatile.Write(ref _started, true);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Commits whose toSeq is in (<paramref name="after"/>, <paramref name="head"/>], from the anchor's log, in order.</summary>
    private async Task<List<Commit>> ReadCommitsAsync(long after, long head)
    {
        var anchor = _client.GetGrain<IAnchorStateGrain>(Did);
        var commits = new SortedDictionary<long, Commit>();
        var position = after;
        while (position < head)
        {
            StoredUpdatePage page;
            using (AsService())
            {
                page = await anchor.GetUpdatesAsync(position, head - after == 1 ? 1 : PageSize);
            }

            if (page.ResyncRequired || page.Updates.Count == 0)
            {
                break; // the log no longer holds it: subscribers resync from a snapshot anyway
            }

            foreach (var commit in page.Commits.Where(c => c.ToSeq > after && c.ToSeq <= head))
            {
                commits.TryAdd(commit.ToSeq, commit);
            }

            position = page.LastSeq;
        }

        return [.. commits.Values];
    }

    public async ValueTask OnCommittedAsync(CommittedBatch batch)
    {
        await _gate.WaitAsync();
        try
        {
            await PublishLockedAsync(batch.Commit, again: false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask OnHeadAsync(long headSeq)
    {
        // The feed fills gaps before reporting the head; behind it still, the log lost them: the head commit tells subscribers.
        if (headSeq <= LatestSeq)
        {
            return;
        }

        await _gate.WaitAsync();
        try
        {
            if (headSeq > _latestSeq)
            {
                foreach (var commit in await ReadCommitsAsync(headSeq - 1, headSeq))
                {
                    await PublishLockedAsync(commit, again: false);
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public ValueTask OnRevokedAsync(CloneAccessRevoked revoked) => ValueTask.CompletedTask;

    private async Task PublishLockedAsync(Commit commit, bool again)
    {
        if (_disposed != 0 || commit.ToSeq < _latestSeq || (commit.ToSeq == _latestSeq && !again))
        {
            return; // older than what subscribers were told, or already told
        }

        var data = Encoding.UTF8.GetBytes(ProtocolModel.ToJson(commit));
        await PublishBytesLockedAsync(data, commit.ToSeq);
    }

    private async Task PublishBytesLockedAsync(byte[] data, long toSeq)
    {
        _validator.NotePublished(Did, toSeq);
        await _pubsub.PublishAsync(Topic, data);
        _latest = data;
        Interlocked.Exchange(ref _latestSeq, toSeq);
        _latestAt = _time.GetUtcNow();
        Interlocked.Increment(ref _published);
        VivimMetrics.Gossip("out", "published");
        _idle.Change(_options.IdleRepublishInterval, _options.IdleRepublishInterval);
    }

    private void OnIdleTick() => _ = RepublishIfIdleAsync();

    private async Task RepublishIfIdleAsync()
    {
        try
        {
            await _gate.WaitAsync();
            try
            {
                if (_disposed != 0 || _latest is not { } latest || _time.GetUtcNow() - _latestAt < _options.IdleRepublishInterval)
                {
                    return;
                }

                await PublishBytesLockedAsync(latest, _latestSeq);
            }
            finally
            {
                _gate.Release();
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogWarning(e, "Re-publishing the latest commit of {Did} failed", Did);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Under the gate: a publication in progress finishes (and arms the timer) first; none starts after this.
        await _gate.WaitAsync();
        try
        {
            await _idle.DisposeAsync();
        }
        finally
        {
            _gate.Release();
        }

        if (_feed is { } feed)
        {
            await feed.DisposeAsync();
        }
    }
}
