using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Vivim.Anchors;
using Vivim.Clones;

namespace Vivim.Sessions;

/// <summary>
/// One connected clone: sends the backlog from its cursor in batches, then live commits, in seq order, with no gap
/// and no duplicate, and never more than <see cref="MaxInFlightBatches"/> unacknowledged batches. Live commits come
/// from the hub's stream subscription and are used as they are when they continue what was sent; anything else
/// (a gap, a batch larger than the session's batch size, a lost event) is read from the log through the Clone grain.
/// </summary>
public sealed class CloneSession : IAsyncDisposable
{
    private const int MaxQueuedLiveBatches = 256;

    private readonly SessionHub _hub;
    private readonly ICloneGrain _clone;
    private readonly SessionHubOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<SessionMessage> _outgoing;
    private readonly ConcurrentQueue<CommittedBatch> _live = new();
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly CancellationTokenSource _closing = new();
    private readonly Queue<long> _unacknowledged = new();
    private readonly object _ackLock = new();
    private Task _pump = Task.CompletedTask;
    private long _knownHead;
    private long _sent;
    private string? _revokedReason;

    internal CloneSession(SessionHub hub, ICloneGrain clone, string cloneId, string sessionId, string parentDid, long cursor, int maxBatchSize, int maxInFlightBatches, SessionHubOptions options, ILogger logger)
    {
        _hub = hub;
        _clone = clone;
        CloneId = cloneId;
        SessionId = sessionId;
        ParentDid = parentDid;
        _sent = cursor;
        Cursor = cursor;
        MaxBatchSize = maxBatchSize;
        MaxInFlightBatches = maxInFlightBatches;
        _options = options;
        _logger = logger;
        _outgoing = Channel.CreateBounded<SessionMessage>(new BoundedChannelOptions(options.OutgoingCapacity) { SingleWriter = true, SingleReader = true });
    }

    public string CloneId { get; }

    public string SessionId { get; }

    public string ParentDid { get; }

    public int MaxBatchSize { get; }

    public int MaxInFlightBatches { get; }

    /// <summary>The last seq the clone acknowledged.</summary>
    public long Cursor { get; private set; }

    public long KnownHead => Interlocked.Read(ref _knownHead);

    /// <summary>What to send to the clone, in order; completes when the session ends.</summary>
    public ChannelReader<SessionMessage> Outgoing => _outgoing.Reader;

    /// <summary>The clone applied everything up to <paramref name="seq"/>: frees in-flight room and records the cursor.</summary>
    public async Task AcknowledgeAsync(long seq, string stateHash)
    {
        lock (_ackLock)
        {
            if (seq <= Cursor)
            {
                return;
            }

            if (seq > _sent)
            {
                throw new ArgumentOutOfRangeException(nameof(seq), seq, $"Only seqs up to {_sent} were sent.");
            }

            Cursor = seq;
            while (_unacknowledged.Count > 0 && _unacknowledged.Peek() <= seq)
            {
                _unacknowledged.Dequeue();
            }
        }

        _wake.Release();
        await _clone.AcknowledgeAsync(seq, stateHash);
    }

    internal void Start() => _pump = Task.Run(PumpAsync);

    internal void OfferLive(CommittedBatch batch)
    {
        // A clone that reads slowly must not make the hub hold every commit for it: what is dropped here is read from the log.
        while (_live.Count >= MaxQueuedLiveBatches && _live.TryDequeue(out _))
        {
        }

        _live.Enqueue(batch);
        OfferHead(batch.Commit.ToSeq);
    }

    internal void OfferHead(long headSeq)
    {
        var current = Interlocked.Read(ref _knownHead);
        while (headSeq > current)
        {
            var seen = Interlocked.CompareExchange(ref _knownHead, headSeq, current);
            if (seen == current)
            {
                break;
            }

            current = seen;
        }

        _wake.Release();
    }

    internal void Revoke(string reason)
    {
        _revokedReason = reason;
        _wake.Release();
    }

    private int InFlight
    {
        get
        {
            lock (_ackLock)
            {
                return _unacknowledged.Count;
            }
        }
    }

    private async Task PumpAsync()
    {
        var token = _closing.Token;
        var lastSentAt = DateTime.UtcNow;
        string closeReason = "closed";
        try
        {
            while (!token.IsCancellationRequested)
            {
                if (_revokedReason is { } revoked)
                {
                    closeReason = revoked;
                    break;
                }

                var sentSomething = false;
                while (_sent < KnownHead && InFlight < MaxInFlightBatches && _revokedReason is null)
                {
                    var message = TakeLive() ?? await ReadFromLogAsync(token);
                    if (message is null)
                    {
                        break;
                    }

                    if (message is SessionResync)
                    {
                        await _outgoing.Writer.WriteAsync(message, token);
                        return;
                    }

                    var batch = (SessionBatch)message;
                    lock (_ackLock)
                    {
                        _unacknowledged.Enqueue(batch.LastSeq);
                        _sent = batch.LastSeq;
                    }

                    await _outgoing.Writer.WriteAsync(batch, token);
                    sentSomething = true;
                }

                if (sentSomething)
                {
                    lastSentAt = DateTime.UtcNow;
                }
                else if (DateTime.UtcNow - lastSentAt >= _options.HeartbeatInterval)
                {
                    await _outgoing.Writer.WriteAsync(new SessionHead(KnownHead), token);
                    lastSentAt = DateTime.UtcNow;
                    await CheckAccessAsync();
                }

                var untilHeartbeat = _options.HeartbeatInterval - (DateTime.UtcNow - lastSentAt);
                await _wake.WaitAsync(untilHeartbeat > TimeSpan.Zero ? untilHeartbeat : TimeSpan.Zero, token);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (CloneAccessDeniedException e)
        {
            closeReason = e.Message;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogWarning(e, "Session {Session} of clone {CloneId} failed", SessionId, CloneId);
            closeReason = "session failed: " + e.Message;
        }
        finally
        {
            _outgoing.Writer.TryWrite(new SessionClosed(closeReason));
            _outgoing.Writer.TryComplete();
        }
    }

    /// <summary>A live batch that continues exactly where the session is and fits its batch size, or null.</summary>
    private SessionBatch? TakeLive()
    {
        while (_live.TryPeek(out var batch))
        {
            if (batch.Commit.ToSeq <= _sent)
            {
                _live.TryDequeue(out _); // a duplicate or already read from the log
                continue;
            }

            if (batch.Commit.FromSeq == _sent + 1 && batch.Updates.Count <= MaxBatchSize && batch.Updates.Count == batch.Commit.ToSeq - batch.Commit.FromSeq + 1)
            {
                _live.TryDequeue(out _);
                return new SessionBatch(batch.Updates, [batch.Commit], KnownHead);
            }

            return null; // a gap before it, or too large: the log fills in
        }

        return null;
    }

    private async Task<SessionMessage?> ReadFromLogAsync(CancellationToken token)
    {
        var page = await _clone.GetUpdatesAsync(_sent, MaxBatchSize).WaitAsync(token);
        if (page.ResyncRequired)
        {
            return new SessionResync("cursor-behind-retention");
        }

        OfferHead(page.HeadSeq);
        return page.Updates.Count == 0 ? null : new SessionBatch(page.Updates, page.Commits, page.HeadSeq);
    }

    /// <summary>Revocations arrive as stream events, which can be lost; the heartbeat checks with the Clone grain too.</summary>
    private async Task CheckAccessAsync()
    {
        var status = await _clone.GetStatusAsync();
        if (status.TrustLevel == Protocol.Model.TrustLevel.Suspended)
        {
            Revoke("suspended");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_closing.IsCancellationRequested)
        {
            return;
        }

        await _closing.CancelAsync();
        await _pump;
        await _hub.ReleaseAsync(this);
        try
        {
            await _clone.DetachSessionAsync(SessionId);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogDebug(e, "Detaching session {Session} failed", SessionId);
        }

        _closing.Dispose();
    }
}
