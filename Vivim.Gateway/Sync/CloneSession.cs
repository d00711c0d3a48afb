using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Vivim.Clones;
using Vivim.Protocol;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;
using Vivim.Telemetry;

namespace Vivim.Gateway.Sync;

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
    private readonly ConcurrentQueue<SessionBatch> _live = new();

    /// <summary>Live batches taken from <see cref="_live"/> and not yet sent, in seq order: the pump's alone.</summary>
    private readonly List<SessionBatch> _ahead = [];

    /// <summary>How many <see cref="_ahead"/> holds, for the hub's fast path, which must not overtake them.</summary>
    private int _aheadCount;
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly CancellationTokenSource _closing = new();
    private readonly Queue<long> _unacknowledged = new();
    private readonly Queue<Commit> _sentCommits = new();
    private readonly object _ackLock = new();
    private Task _pump = Task.CompletedTask;
    private Task _flushing = Task.CompletedTask; // the pump's cursor flush in flight: only the pump starts one
    private Task _confirming = Task.CompletedTask; // the pump's session confirmation in flight: only the pump starts one
    private long _knownHead;
    private long _sent;
    private SessionClosed? _endedBy; // revoked or replaced: the pump closes with it
    private string _cursorStateHash = string.Empty;
    private long _flushedCursor;
    private long _lastSentTicks;
    private long _confirmedTicks;
    private bool _pumpSending;
    private DateTime _flushedAt;

    internal CloneSession(SessionHub hub, ICloneGrain clone, string cloneId, string sessionId, string parentDid, long cursor, int maxBatchSize, int maxInFlightBatches, SessionHubOptions options, ILogger logger)
    {
        _hub = hub;
        _clone = clone;
        CloneId = cloneId;
        SessionId = sessionId;
        ParentDid = parentDid;
        _sent = cursor;
        Cursor = cursor;
        _flushedCursor = cursor;
        MaxBatchSize = maxBatchSize;
        MaxInFlightBatches = maxInFlightBatches;
        _options = options;
        _logger = logger;
        // Not single-writer: besides the pump and the hub, the socket writes its wake-up (WakeReader).
        _outgoing = Channel.CreateBounded<SessionMessage>(new BoundedChannelOptions(options.OutgoingCapacity) { SingleReader = true });
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

    /// <summary>
    /// The clone applied everything up to <paramref name="seq"/>: frees in-flight room at once; the cursor (with the v2
    /// root after <paramref name="seq"/>, from the commits sent) reaches the Clone grain at most once per
    /// <see cref="SessionHubOptions.CursorFlushInterval"/> (and when the session ends), so a thousand acknowledging
    /// clones do not make a thousand grain calls per commit.
    /// </summary>
    public Task AcknowledgeAsync(long seq)
    {
        bool wake;
        lock (_ackLock)
        {
            if (seq <= Cursor)
            {
                return Task.CompletedTask;
            }

            if (seq > _sent)
            {
                throw new ArgumentOutOfRangeException(nameof(seq), seq, $"Only seqs up to {_sent} were sent.");
            }

            Cursor = seq;
            VivimMetrics.Acknowledged(KnownHead, seq);
            _cursorStateHash = SentRootAt(seq);

            // A caught-up session's pump has nothing to do for an ack (the hub hands it live batches directly): it is
            // woken only when the ack frees room it waits for, leaves something to send, or makes the cursor due.
            wake = _unacknowledged.Count >= MaxInFlightBatches || _sent < KnownHead || !_live.IsEmpty
                || DateTime.UtcNow - _flushedAt >= _options.CursorFlushInterval;
            while (_unacknowledged.Count > 0 && _unacknowledged.Peek() <= seq)
            {
                _unacknowledged.Dequeue();
            }

            // Later acks are for later seqs: commits that end here are no longer needed.
            while (_sentCommits.Count > 0 && _sentCommits.Peek().ToSeq <= seq)
            {
                _sentCommits.Dequeue();
            }
        }

        if (wake)
        {
            _wake.Release();
        }

        return Task.CompletedTask;
    }

    /// <summary>The root after <paramref name="seq"/> from the commits sent with it (under <see cref="_ackLock"/>).</summary>
    private string SentRootAt(long seq)
    {
        foreach (var commit in _sentCommits)
        {
            if (seq >= commit.FromSeq && seq <= commit.ToSeq && seq - commit.FromSeq < commit.Roots.Count)
            {
                return commit.Roots[(int)(seq - commit.FromSeq)];
            }
        }

        return string.Empty;
    }

    /// <summary>Records a batch as sent (under <see cref="_ackLock"/>): in flight until acknowledged, its commits kept for the ack's root.</summary>
    private void MarkSent(SessionBatch batch)
    {
        _unacknowledged.Enqueue(batch.LastSeq);
        _sent = batch.LastSeq;
        foreach (var commit in batch.Commits)
        {
            if (commit.ToSeq > Cursor)
            {
                _sentCommits.Enqueue(commit);
            }
        }
    }

    private async Task FlushCursorAsync(bool force)
    {
        long cursor;
        string stateHash;
        lock (_ackLock)
        {
            if (Cursor <= _flushedCursor || (!force && DateTime.UtcNow - _flushedAt < _options.CursorFlushInterval))
            {
                return;
            }

            (cursor, stateHash) = (Cursor, _cursorStateHash);
        }

        // As the gateway, not as the clone: the seq was delivered here and the root is the delivered commit's, so the
        // Clone grain takes both without asking the anchor for its head (as it must for a clone's own ack).
        using (_hub.AsService())
        {
            await _clone.AcknowledgeDeliveredAsync(cursor, stateHash);
        }

        lock (_ackLock)
        {
            _flushedCursor = Math.Max(_flushedCursor, cursor);
            _flushedAt = DateTime.UtcNow;
        }
    }

    internal void Start() => _pump = Task.Run(PumpAsync);

    /// <summary>
    /// The fast path for a caught-up session: the hub hands the shared batch straight to the outgoing channel, with no
    /// wake-up of the pump, when it continues exactly what was sent, fits, and the in-flight bound allows it.
    /// </summary>
    internal bool TryDeliverLive(SessionBatch batch)
    {
        lock (_ackLock)
        {
            if (_pumpSending || !_live.IsEmpty || Volatile.Read(ref _aheadCount) > 0 || _endedBy is not null || _closing.IsCancellationRequested
                || batch.Updates[0].Seq != _sent + 1 || batch.Updates.Count > MaxBatchSize
                || _unacknowledged.Count >= MaxInFlightBatches || !_outgoing.Writer.TryWrite(batch))
            {
                return false;
            }

            MarkSent(batch);
        }

        Interlocked.Exchange(ref _lastSentTicks, DateTime.UtcNow.Ticks);
        Seqs.RaiseTo(ref _knownHead, batch.LastSeq);
        return true;
    }

    /// <summary>
    /// Wakes a reader of <see cref="Outgoing"/> that waits without a token, so that it sees its cancellation: a
    /// message that says nothing (readers skip it). When the channel is full there is something to read anyway.
    /// </summary>
    internal void WakeReader() => _outgoing.Writer.TryWrite(SessionWake.Instance);

    /// <summary>A live commit, as one <see cref="SessionBatch"/> the hub built once for all of the DID's sessions.</summary>
    internal void OfferLive(SessionBatch batch)
    {
        // A clone that reads slowly must not make the hub hold every commit for it: what is dropped here is read from the log.
        while (_live.Count >= MaxQueuedLiveBatches && _live.TryDequeue(out _))
        {
        }

        _live.Enqueue(batch);
        OfferHead(batch.LastSeq);
    }

    /// <summary>The hub's periodic tick: lets an idle session send its heartbeat and pass its cursor on.</summary>
    internal void Tick() => _wake.Release();

    internal void OfferHead(long headSeq)
    {
        Seqs.RaiseTo(ref _knownHead, headSeq);
        _wake.Release();
    }

    internal void Revoke(string reason) => End(new SessionClosed(SessionCloseReason.Revoked, reason));

    /// <summary>A newer session of the same clone took this one's place (on this gateway or another).</summary>
    internal void Replace() => End(new SessionClosed(SessionCloseReason.Replaced, "session-replaced"));

    private void End(SessionClosed closed)
    {
        Interlocked.CompareExchange(ref _endedBy, closed, null);
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
        Interlocked.Exchange(ref _lastSentTicks, DateTime.UtcNow.Ticks);
        _confirmedTicks = DateTime.UtcNow.Ticks; // just attached
        var close = new SessionClosed(SessionCloseReason.Closed, "closed");
        try
        {
            while (!token.IsCancellationRequested)
            {
                if (Volatile.Read(ref _endedBy) is { } ended)
                {
                    close = ended;
                    break;
                }

                lock (_ackLock)
                {
                    _pumpSending = true; // the hub's fast path stands aside while the pump decides what comes next
                }

                try
                {
                    while (_sent < KnownHead && InFlight < MaxInFlightBatches && _endedBy is null)
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
                            MarkSent(batch);
                        }

                        await _outgoing.Writer.WriteAsync(batch, token);
                        Interlocked.Exchange(ref _lastSentTicks, DateTime.UtcNow.Ticks);
                    }
                }
                finally
                {
                    lock (_ackLock)
                    {
                        _pumpSending = false;
                    }
                }

                if (DateTime.UtcNow.Ticks - Interlocked.Read(ref _lastSentTicks) >= _options.HeartbeatInterval.Ticks)
                {
                    await _outgoing.Writer.WriteAsync(new SessionHead(KnownHead), token);
                    Interlocked.Exchange(ref _lastSentTicks, DateTime.UtcNow.Ticks);
                }

                // The confirmation and the cursor go to the Clone grain beside the deliveries, not before them: that grain
                // may be writing its state (a thousand clones' cursor writes queue on one SQLite writer), and live batches
                // waited in _live behind the call, up to seconds. One of each at a time; a failed one (a revoked clone)
                // ends the session on the pump's next turn (the hub ticks every session each second).
                if (_confirming.IsCompleted)
                {
                    await _confirming;

                    // Busy or idle: a session that kept sending would otherwise never hear of a lost revocation or replacement.
                    if (DateTime.UtcNow.Ticks - _confirmedTicks >= _options.HeartbeatInterval.Ticks)
                    {
                        _confirmedTicks = DateTime.UtcNow.Ticks;
                        _confirming = ConfirmAsync();
                    }
                }

                if (_flushing.IsCompleted)
                {
                    await _flushing;
                    _flushing = FlushCursorAsync(force: false);
                }

                // No timeout here (a timer per wait is costly with thousands of sessions): the hub ticks every session.
                await _wake.WaitAsync(token);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (CloneAccessDeniedException e)
        {
            close = new SessionClosed(SessionCloseReason.Revoked, e.Message);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogWarning(e, "Session {Session} of clone {CloneId} failed", SessionId, CloneId);
            close = new SessionClosed(SessionCloseReason.Failed, "session failed: " + e.Message);
        }
        finally
        {
            _outgoing.Writer.TryWrite(close);
            _outgoing.Writer.TryComplete();
        }
    }

    /// <summary>
    /// The queued live batches that continue exactly where the session is, as one batch within its batch size, or null.
    /// One commit per batch would let a session that fell behind send only its in-flight bound of commits per ack round
    /// trip: with 1,000 clones acking, a hiccup of a few hundred milliseconds (a slow commit, a GC pause) queued more
    /// commits than that delivered, and such a session stayed seconds behind at 50 commits/s. A single queued batch
    /// goes out as it is, with the bytes it shares with every session of the DID. Pushes are one-way and can overtake
    /// each other, so batches are taken in seq order, not arrival order; one that arrived ahead of a gap waits for it.
    /// </summary>
    private SessionBatch? TakeLive()
    {
        while (_live.TryDequeue(out var arrived))
        {
            _ahead.Add(arrived);
        }

        if (_ahead.Count == 0)
        {
            Volatile.Write(ref _aheadCount, 0);
            return null;
        }

        var sent = _sent;
        _ahead.RemoveAll(b => b.LastSeq <= sent); // duplicates, or already read from the log
        _ahead.Sort(static (a, b) => a.Updates[0].Seq.CompareTo(b.Updates[0].Seq));
        if (_ahead.Count > MaxQueuedLiveBatches)
        {
            _ahead.RemoveRange(MaxQueuedLiveBatches, _ahead.Count - MaxQueuedLiveBatches); // the log fills in the furthest
        }

        SessionBatch? first = null;
        List<StoredUpdate>? updates = null;
        List<Commit>? commits = null;
        var (last, count, head, taken) = (sent, 0, 0L, 0);
        foreach (var batch in _ahead)
        {
            if (batch.LastSeq <= last)
            {
                taken++; // a commit inside one already taken
                continue;
            }

            if (batch.Updates[0].Seq != last + 1 || count + batch.Updates.Count > MaxBatchSize)
            {
                break; // a gap before it, or too large: the log fills in (or the next batch takes it)
            }

            taken++;
            if (first is null)
            {
                first = batch;
            }
            else
            {
                updates ??= [.. first.Updates];
                commits ??= [.. first.Commits];
                updates.AddRange(batch.Updates);
                commits.AddRange(batch.Commits);
            }

            (last, count, head) = (batch.LastSeq, count + batch.Updates.Count, Math.Max(head, batch.HeadSeq));
        }

        _ahead.RemoveRange(0, taken);
        Volatile.Write(ref _aheadCount, _ahead.Count);

        // The oldest commit's time: the metric then records the longest wait in the batch.
        return updates is null ? first : new SessionBatch(updates, commits!, head) { CommittedAtMs = first!.CommittedAtMs };
    }

    private async Task<SessionMessage?> ReadFromLogAsync(CancellationToken token)
    {
        StoredUpdatePage page;
        using (_hub.AsClone(CloneId))
        {
            page = await _clone.GetUpdatesAsync(_sent, MaxBatchSize).WaitAsync(token);
        }

        if (page.ResyncRequired)
        {
            return new SessionResync("cursor-behind-retention");
        }

        OfferHead(page.HeadSeq);
        return page.Updates.Count == 0 ? null : new SessionBatch(page.Updates, page.Commits, page.HeadSeq);
    }

    /// <summary>
    /// Revocations and replacements arrive as pushed notices, which can be lost; each heartbeat interval the session
    /// confirms with the Clone grain that it may still sync and is still the clone's live session.
    /// </summary>
    private async Task ConfirmAsync()
    {
        bool live;
        using (_hub.AsClone(CloneId))
        {
            live = await _clone.ConfirmSessionAsync(SessionId, _hub.Replacements);
        }

        if (!live)
        {
            Replace();
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
        await _flushing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing); // the forced flush below covers it
        await _confirming.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing); // the session is over either way
        try
        {
            await FlushCursorAsync(force: true);
            using (_hub.AsClone(CloneId))
            {
                await _clone.DetachSessionAsync(SessionId);
            }

        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogDebug(e, "Detaching session {Session} failed", SessionId);
        }

        _closing.Dispose();
    }
}
