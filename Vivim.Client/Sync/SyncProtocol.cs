using System.Threading.Channels;
using Vivim.Client.Replica;
using Vivim.Client.Transports;
using Vivim.Protocol;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Client.Sync;

/// <summary>
/// The clone side of the Sync Protocol, as the TypeScript SDK's <c>SyncProtocol</c>: takes and verifies the initial
/// snapshot, catches up, then applies live commits, with a periodic sync and a head reconciliation as safety nets.
/// Only verified data is applied (<see cref="ChainVerifier"/>); a refused batch leaves the replica at its last good
/// cursor. One batch is applied at a time and acknowledged after it is applied.
/// </summary>
public sealed class SyncProtocol : IAsyncDisposable, ILiveSyncObserver
{
    // Pages a catch-up far behind asks for ahead of the one it applies: two keep the applying core busy when a page's
    // fetch and parse take longer than applying it (a database server and the runtime sharing the cores).
    private const int PagesAhead = 2;

    private readonly ISyncTransport _transport;
    private readonly SyncOptions _options;
    private readonly ChainVerifier _verifier;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Lock _stateLock = new();
    private SyncConfig _config;
    private CancellationTokenSource? _running;
    private ILiveSubscription? _subscription;
    private Channel<LiveUpdates>? _live;
    private readonly List<Task> _loops = [];
    private Task _catchUp = Task.CompletedTask;
    private Task _headPull = Task.CompletedTask;
    private int _headPullRunning;
    private long _headReports;
    private volatile bool _paused;
    private volatile bool _connected;
    private volatile bool _revoked;
    private long _knownHead;
    private long _lastSyncAt;
    private SyncStatus? _lastStatus;

    public SyncProtocol(string parentDid, SyncConfig? config, ISyncTransport transport, SyncOptions? options = null, CloneReplica? replica = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(parentDid);
        ArgumentNullException.ThrowIfNull(transport);
        ParentDid = parentDid;
        _config = config ?? new SyncConfig();
        _transport = transport;
        _options = options ?? new SyncOptions();
        Replica = replica ?? new CloneReplica();
        var key = DidKey.ResolvePublicKey(_options.ParentPublicKey ?? parentDid);
        _verifier = new ChainVerifier(parentDid, key, _options.VerifyAuthorSignatures);
        _lastStatus = GetStatus();
    }

    public event EventHandler<SyncStartedEventArgs>? SyncStarted;

    public event EventHandler<SyncCompletedEventArgs>? SyncCompleted;

    public event EventHandler<SyncFailedEventArgs>? SyncFailed;

    public event EventHandler<UpdateReceivedEventArgs>? UpdateReceived;

    public event EventHandler<UpdateAppliedEventArgs>? UpdateApplied;

    public event EventHandler<StatusChangedEventArgs>? StatusChanged;

    public event EventHandler<SyncErrorEventArgs>? Error;

    /// <summary>Every event above, in the order raised, each carrying its SDK name (<see cref="SyncEventArgs.Name"/>).</summary>
    public event EventHandler<SyncEventArgs>? EventRaised;

    public string ParentDid { get; }

    public CloneReplica Replica { get; }

    public SyncConfig Config => _config;

    public bool IsRunning => _running is not null;

    public bool IsPaused => _paused;

    /// <summary>Replaces the configuration; a new interval takes effect after the current wait.</summary>
    public void SetConfig(SyncConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfLessThan(config.MaxBatchSize, 1, nameof(config));
        ArgumentOutOfRangeException.ThrowIfLessThan(config.SyncInterval, 1, nameof(config));
        ArgumentOutOfRangeException.ThrowIfLessThan(config.SyncTimeout, 1, nameof(config));
        _config = config;
    }

    /// <summary>Takes the snapshot if the replica is empty, catches up, then (with autoSync) goes live and syncs periodically.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_running is not null)
        {
            return;
        }

        _revoked = false;
        var running = new CancellationTokenSource();
        _running = running;
        try
        {
            await SyncNowAsync(cancellationToken).ConfigureAwait(false);
            if (_config.AutoSync)
            {
                await GoLiveAsync(running.Token, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            await StopAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async Task StopAsync()
    {
        var running = Interlocked.Exchange(ref _running, null);
        if (running is null)
        {
            return;
        }

        await running.CancelAsync().ConfigureAwait(false);
        _live?.Writer.TryComplete();
        var subscription = Interlocked.Exchange(ref _subscription, null);
        if (subscription is not null)
        {
            try
            {
                await subscription.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                RaiseError(e);
            }
        }

        Task[] loops;
        lock (_stateLock)
        {
            loops = [.. _loops, _catchUp, _headPull];
            _loops.Clear();
        }

        await Task.WhenAll(loops).ConfigureAwait(false);
        running.Dispose();
        _connected = false;
        PublishStatus();
    }

    /// <summary>Pulls until current (taking a snapshot first if the replica is empty, or if the parent says resync).</summary>
    /// <returns>How many updates were applied.</returns>
    /// <exception cref="SyncVerificationException">Something served did not verify; nothing of that batch was applied.</exception>
    public async Task<int> SyncNowAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await SyncPassAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Verifies and loads a snapshot received out of band (a registration's <c>initialState</c>), replacing the
    /// replica; the next sync continues from its seq.
    /// </summary>
    /// <exception cref="SyncVerificationException">The snapshot does not verify; the replica is unchanged.</exception>
    public async Task LoadSnapshotAsync(StateSnapshot snapshot, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _verifier.LoadSnapshot(Replica, snapshot);
            Seqs.RaiseTo(ref _knownHead, Replica.Cursor);
        }
        finally
        {
            _gate.Release();
        }

        PublishStatus();
    }

    public SyncStatus GetStatus()
    {
        var cursor = Replica.Cursor;
        var head = Math.Max(Interlocked.Read(ref _knownHead), cursor);
        return new SyncStatus(_connected && _running is not null && !_revoked, ParentDid, _lastSyncAt, head - cursor, Replica.Root);
    }

    /// <summary>Stops applying periodic and live updates until <see cref="Resume"/>; explicit <see cref="SyncNowAsync"/> still works.</summary>
    public void Pause() => _paused = true;

    /// <summary>Resumes and catches up with what arrived meanwhile.</summary>
    public void Resume()
    {
        if (!_paused)
        {
            return;
        }

        _paused = false;
        if (_running is { } running)
        {
            lock (_stateLock)
            {
                _catchUp = BackgroundSyncAsync(running.Token);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _gate.Dispose();
    }

    long ILiveSyncObserver.Cursor => Replica.Cursor;

    ValueTask ILiveSyncObserver.OnBatchAsync(CommittedBatch batch)
    {
        if (string.Equals(batch.Did, ParentDid, StringComparison.Ordinal))
        {
            // A hint: when the queue is full the oldest is dropped, and the gap it leaves is pulled from the log.
            _live?.Writer.TryWrite(new LiveUpdates(batch.Updates, [batch.Commit], batch.Commit.ToSeq, MayEndInsideCommit: false));
        }

        return ValueTask.CompletedTask;
    }

    ValueTask ILiveSyncObserver.OnUpdatesAsync(LiveUpdates updates)
    {
        ArgumentNullException.ThrowIfNull(updates);
        _live?.Writer.TryWrite(updates);
        return ValueTask.CompletedTask;
    }

    ValueTask ILiveSyncObserver.OnHeadAsync(long headSeq)
    {
        Seqs.RaiseTo(ref _knownHead, headSeq);
        Interlocked.Increment(ref _headReports);

        // One pull at a time is enough: it runs until current, and again if a head came while it ran.
        if (headSeq > Replica.Cursor && !_paused && _running is { } running && Interlocked.Exchange(ref _headPullRunning, 1) == 0)
        {
            lock (_stateLock)
            {
                _headPull = Task.Run(() => PullToHeadAsync(running));
            }
        }
        else
        {
            PublishStatus();
        }

        return ValueTask.CompletedTask;
    }

    private async Task PullToHeadAsync(CancellationTokenSource running)
    {
        while (true)
        {
            var reports = Interlocked.Read(ref _headReports);
            try
            {
                await BackgroundSyncAsync(running.Token).ConfigureAwait(false);
            }
            finally
            {
                Volatile.Write(ref _headPullRunning, 0);
            }

            // A head reported after the pull's last page would otherwise wait for the reconciliation. Only a new report
            // pulls again: a parent that announced more than it serves yet (a relay) is asked on its next notice.
            if (Interlocked.Read(ref _headReports) == reports || Interlocked.Read(ref _knownHead) <= Replica.Cursor
                || _paused || running.IsCancellationRequested || Interlocked.Exchange(ref _headPullRunning, 1) != 0)
            {
                return;
            }
        }
    }

    ValueTask ILiveSyncObserver.OnRevokedAsync(string reason)
    {
        OnRevoked(new CloneRevokedException($"Access revoked: {reason}"));
        return ValueTask.CompletedTask;
    }

    private async Task GoLiveAsync(CancellationToken running, CancellationToken cancellationToken)
    {
        _live = Channel.CreateBounded<LiveUpdates>(new BoundedChannelOptions(Math.Max(1, _options.LiveQueueCapacity))
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        using (var timeout = Timeout(cancellationToken))
        {
            _subscription = await _transport.SubscribeAsync(this, timeout.Token).ConfigureAwait(false);
        }

        // A batch committed between the catch-up and the subscription would show no gap until the next one.
        lock (_stateLock)
        {
            _loops.Add(LiveLoopAsync(_live.Reader, running));
            _loops.Add(PeriodicLoopAsync(running));
            _loops.Add(ReconcileLoopAsync(running, firstImmediately: true));
        }

        PublishStatus();
    }

    private async Task LiveLoopAsync(ChannelReader<LiveUpdates> reader, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var batch in reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (_paused)
                {
                    continue; // Resume pulls everything missed.
                }

                await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    await ApplyLiveAsync(batch, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    // Reported through the events already; the next batch, reconciliation or periodic sync recovers.
                }
                finally
                {
                    _gate.Release();
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task PeriodicLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(_config.SyncInterval), _options.TimeProvider, cancellationToken).ConfigureAwait(false);
                if (!_paused && _config.AutoSync)
                {
                    await BackgroundSyncAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task ReconcileLoopAsync(CancellationToken cancellationToken, bool firstImmediately)
    {
        try
        {
            var wait = !firstImmediately;
            while (true)
            {
                if (wait)
                {
                    await Task.Delay(_options.ReconcileInterval, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
                }

                wait = true;
                if (_paused)
                {
                    continue;
                }

                long head;
                try
                {
                    using var timeout = Timeout(cancellationToken);
                    head = await _transport.GetHeadSeqAsync(timeout.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    // The parent is unreachable or refused: said once per check, so an app sees why it is not current.
                    if (e is not CloneRevokedException)
                    {
                        RaiseError(e);
                    }

                    HandleBackgroundFailure(e);
                    continue;
                }

                Seqs.RaiseTo(ref _knownHead, head);
                if (head > Replica.Cursor)
                {
                    await BackgroundSyncAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task BackgroundSyncAsync(CancellationToken cancellationToken)
    {
        try
        {
            await SyncNowAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            HandleBackgroundFailure(e);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void HandleBackgroundFailure(Exception e)
    {
        if (e is CloneRevokedException revoked)
        {
            OnRevoked(revoked);
        }
    }

    private void OnRevoked(CloneRevokedException error)
    {
        if (_revoked)
        {
            return;
        }

        _revoked = true;
        RaiseError(error);
        PublishStatus();
        // Not awaited: this may run on the transport's delivery thread, which StopAsync unsubscribes.
        _ = Task.Run(StopAsync);
    }

    private async Task ApplyLiveAsync(LiveUpdates batch, CancellationToken cancellationToken)
    {
        Seqs.RaiseTo(ref _knownHead, batch.HeadSeq);
        var cursor = Replica.Cursor;
        // Updates without a seq are left to the verifier, which refuses them.
        var first = batch.Updates.Count == 0 ? null : batch.Updates[0].Seq;
        var last = batch.Updates.Count == 0 ? null : batch.Updates[^1].Seq;
        if (!Replica.IsInitialized || batch.Updates.Count == 0 || (last is { } l && l <= cursor))
        {
            return; // a duplicate, or nothing to apply
        }

        if (last is { } lastSeq)
        {
            Seqs.RaiseTo(ref _knownHead, lastSeq);
        }

        if (first is { } firstSeq && firstSeq > cursor + 1)
        {
            await SyncPassAsync(cancellationToken).ConfigureAwait(false); // a gap: the log has what the stream lost
            return;
        }

        await RunPassAsync(async () =>
        {
            var applied = ApplyVerified(batch.Updates, batch.Commits, requireCompleteCommits: !batch.MayEndInsideCommit);
            await AcknowledgeAsync(cancellationToken).ConfigureAwait(false);
            return applied;
        }).ConfigureAwait(false);
    }

    private Task<int> SyncPassAsync(CancellationToken cancellationToken) => RunPassAsync(async () =>
    {
        var applied = 0;
        if (!Replica.IsInitialized)
        {
            await LoadSnapshotAsync(cancellationToken).ConfigureAwait(false);
        }

        var resyncs = 0;
        // Pages asked for ahead, each with the seq it starts after, in order.
        var ahead = new Queue<(long After, Task<UpdatePage> Page)>(PagesAhead);
        try
        {
            while (true)
            {
                var limit = _config.MaxBatchSize;
                var page = ahead.TryDequeue(out var asked) ? await asked.Page.ConfigureAwait(false) : await FetchAsync(Replica.Cursor, limit, cancellationToken).ConfigureAwait(false);
                if (page.ResyncRequired)
                {
                    DropAll(ahead);
                    if (++resyncs > 1)
                    {
                        throw new SyncVerificationException(VerificationCodes.NoProgress, "The parent asks for a resync again right after a new snapshot.");
                    }

                    await LoadSnapshotAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }

                Seqs.RaiseTo(ref _knownHead, page.HeadSeq);
                if (page.Updates.Count == 0)
                {
                    return applied;
                }

                // Far behind, the next pages are asked for while this one is verified: the parent reads them and this
                // process parses them on the other cores, and applying (one core) no longer waits for a round trip.
                // The log's seqs have no gaps, so a full page after seq s ends at s + limit: each page asked for
                // starts where the one before it would end. One that does not start at the cursor is dropped.
                var before = Replica.Cursor;
                var pageEnd = page.Updates[^1].Seq;
                if (page.Updates.Count >= limit && pageEnd is { } end && end > before && end < page.HeadSeq)
                {
                    var after = ahead.Count > 0 ? ahead.Last().After + limit : end;
                    while (ahead.Count < PagesAhead && after < page.HeadSeq)
                    {
                        ahead.Enqueue((after, FetchAsync(after, limit, cancellationToken)));
                        after += limit;
                    }
                }

                // A page cut at its limit may end inside a commit (each root is signed); a short page may not.
                applied += ApplyVerified(page.Updates, page.Commits, requireCompleteCommits: page.Updates.Count < limit);
                if (Replica.Cursor == before)
                {
                    throw new SyncVerificationException(VerificationCodes.NoProgress, $"The parent served no update after seq {before} although its head is {page.HeadSeq}.");
                }

                if (ahead.Count > 0 && ahead.Peek().After != Replica.Cursor)
                {
                    DropAll(ahead);
                }

                await AcknowledgeAsync(cancellationToken).ConfigureAwait(false);
                if (Replica.Cursor >= page.HeadSeq)
                {
                    return applied;
                }
            }
        }
        finally
        {
            DropAll(ahead);
        }
    });

    private async Task<UpdatePage> FetchAsync(long afterSeq, int limit, CancellationToken cancellationToken)
    {
        using var timeout = Timeout(cancellationToken);
        return await _transport.GetUpdatesAsync(afterSeq, limit, timeout.Token).ConfigureAwait(false);
    }

    // Pages asked for ahead and not used: their failures, if any, are not this pass's.
    private static void DropAll(Queue<(long After, Task<UpdatePage> Page)> ahead)
    {
        while (ahead.TryDequeue(out var asked))
        {
            _ = asked.Page.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <summary>One sync pass with the SDK's events: started, the updates, status, completed — or failed and error.</summary>
    private async Task<int> RunPassAsync(Func<Task<int>> pass)
    {
        Raise(new SyncStartedEventArgs(ParentDid), SyncStarted);
        int applied;
        try
        {
            applied = await pass().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            if (e is CloneRevokedException revoked)
            {
                _revoked = true;
                _ = Task.Run(StopAsync);
            }
            else if (e is not SyncVerificationException)
            {
                _connected = false;
            }

            Raise(new SyncFailedEventArgs(ParentDid, e), SyncFailed);
            RaiseError(e);
            PublishStatus();
            throw;
        }

        _connected = true;
        _lastSyncAt = _options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        PublishStatus();
        Raise(new SyncCompletedEventArgs(ParentDid, applied), SyncCompleted);
        return applied;
    }

    private async Task LoadSnapshotAsync(CancellationToken cancellationToken)
    {
        StateSnapshot snapshot;
        using (var timeout = Timeout(cancellationToken))
        {
            snapshot = await _transport.GetSnapshotAsync(timeout.Token).ConfigureAwait(false);
        }

        _verifier.LoadSnapshot(Replica, snapshot);
        Seqs.RaiseTo(ref _knownHead, Replica.Cursor);
    }

    private int ApplyVerified(IReadOnlyList<StateUpdate> updates, IReadOnlyList<Commit> commits, bool requireCompleteCommits)
    {
        IReadOnlyList<StateUpdate> applied;
        try
        {
            applied = _verifier.Apply(Replica, updates, commits, requireCompleteCommits);
        }
        catch (SyncVerificationException e) when (e.Update is { } update)
        {
            Raise(new UpdateReceivedEventArgs(update), UpdateReceived);
            Raise(new UpdateAppliedEventArgs(update, success: false), UpdateApplied);
            throw;
        }

        // Raised once the whole batch verified, so no listener ever sees an update that is later rolled back.
        foreach (var update in applied)
        {
            Raise(new UpdateReceivedEventArgs(update), UpdateReceived);
            Raise(new UpdateAppliedEventArgs(update, success: true), UpdateApplied);
        }

        return applied.Count;
    }

    private async Task AcknowledgeAsync(CancellationToken cancellationToken)
    {
        using var timeout = Timeout(cancellationToken);
        await _transport.AcknowledgeAsync(Replica.Cursor, Replica.Root, timeout.Token).ConfigureAwait(false);
    }

    private CancellationTokenSource Timeout(CancellationToken cancellationToken)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        source.CancelAfter(TimeSpan.FromMilliseconds(_config.SyncTimeout));
        return source;
    }

    private void PublishStatus()
    {
        var status = GetStatus();
        lock (_stateLock)
        {
            if (status == _lastStatus)
            {
                return;
            }

            _lastStatus = status;
        }

        Raise(new StatusChangedEventArgs(status), StatusChanged);
    }

    private void RaiseError(Exception error) => Raise(new SyncErrorEventArgs(error), Error);

    private void Raise<T>(T args, EventHandler<T>? handler)
        where T : SyncEventArgs
    {
        // A listener's exception must not turn an applied batch into a failed sync; it is reported as an error instead.
        Invoke(handler, args);
        Invoke(EventRaised, args);
    }

    private void Invoke<T>(EventHandler<T>? handler, T args)
        where T : SyncEventArgs
    {
        try
        {
            handler?.Invoke(this, args);
        }
        catch (Exception e) when (args is not SyncErrorEventArgs && e is not OutOfMemoryException)
        {
            Raise(new SyncErrorEventArgs(e), Error);
        }
    }
}
