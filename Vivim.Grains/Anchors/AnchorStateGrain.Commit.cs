using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Vivim.ExitNodes;
using Vivim.Feeds;
using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;
using Vivim.Storage;
using Vivim.Telemetry;

namespace Vivim.Anchors;

/// <summary>The commit path: check a batch (signatures in parallel, then authors, retries and preconditions under the lock), apply it to the tree, sign the commit, append, push to listeners.</summary>
public sealed partial class AnchorStateGrain
{
    public async Task<SubmitResult> SubmitAsync(IReadOnlyList<string> updatesJson)
    {
        var started = Stopwatch.GetTimestamp();
        var key = _key ?? throw new NotHostedException($"{_did} is not hosted here.");
        if (Trivial(updatesJson.Count) is { } trivial)
        {
            return trivial;
        }

        // Signature checks dominate the cost: run them on the thread pool, in parallel, before taking the lock.
        var now = time.GetUtcNow();
        var candidates = await CheckInParallelAsync(updatesJson.Count, i => UpdateCandidate.Check(i, updatesJson[i], _options, now, _authors));
        return await CommitCheckedAsync(key, candidates, started);
    }

    public async Task<SubmitResult> WriteAsOwnerAsync(IReadOnlyList<OwnerUpdate> updates)
    {
        ArgumentNullException.ThrowIfNull(updates);
        var started = Stopwatch.GetTimestamp();
        var key = _key ?? throw new NotHostedException($"{_did} is not hosted here.");
        if (Trivial(updates.Count) is { } trivial)
        {
            return trivial;
        }

        // Signing is the cost here; the same parallel split as checking.
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var candidates = await CheckInParallelAsync(updates.Count, i => UpdateCandidate.Owned(i, updates[i] ?? throw new ArgumentException("A batch holds no null updates.", nameof(updates)), key, _options, nowMs));
        return await CommitCheckedAsync(key, candidates, started);
    }

    /// <summary>The answer to an empty batch (committed, nothing to do) or one over the cap; null for any other.</summary>
    private SubmitResult? Trivial(int count) =>
        count == 0 ? new SubmitResult(SubmitOutcome.Committed, [], [])
        : count > _options.MaxBatchUpdates ? Refused(SubmitOutcome.Rejected, [new UpdateRejection(0, null, RejectionCodes.TooLarge, $"A batch holds at most {_options.MaxBatchUpdates} updates.")])
        : null;

    /// <summary>
    /// One work item per core, not a Parallel.For, which would block a pool thread per batch while concurrent batches wait.
    /// </summary>
    private static async Task<UpdateCandidate[]> CheckInParallelAsync(int count, Func<int, UpdateCandidate> check)
    {
        var candidates = new UpdateCandidate[count];
        var parts = Math.Min(Environment.ProcessorCount, count);
        await Task.WhenAll(Enumerable.Range(0, parts).Select(part => Task.Run(() =>
        {
            for (var i = part; i < candidates.Length; i += parts)
            {
                candidates[i] = check(i);
            }
        })));
        return candidates;
    }

    /// <summary>Refuses a batch with any failed check or a repeated updateId; otherwise commits it under the lock.</summary>
    private async Task<SubmitResult> CommitCheckedAsync(SigningKey key, UpdateCandidate[] candidates, long started)
    {
        var rejections = candidates.Where(c => c.Rejection is not null).Select(c => c.Rejection!).ToList();
        var duplicateIds = candidates.Where(c => c.Update is not null).GroupBy(c => c.Update!.UpdateId, StringComparer.Ordinal).Where(g => g.Count() > 1);
        foreach (var group in duplicateIds)
        {
            rejections.AddRange(group.Skip(1).Select(c => new UpdateRejection(c.Index, c.Update!.UpdateId, RejectionCodes.DuplicateUpdateId, "The batch repeats this updateId.")));
        }

        if (rejections.Count > 0)
        {
            return Refused(SubmitOutcome.Rejected, rejections);
        }

        await _commitLock.WaitAsync();
        try
        {
            return await CommitAsync(key, candidates, started);
        }
        finally
        {
            _commitLock.Release();
        }
    }

    private async Task<SubmitResult> CommitAsync(SigningKey key, UpdateCandidate[] candidates, long started)
    {
        // Authors are checked under the lock: a suspension that landed while signatures were checked counts.
        var rejections = new List<UpdateRejection>();
        foreach (var candidate in candidates)
        {
            if (UpdateCandidate.CheckAuthor(candidate.Index, candidate.Update!, _did, state.State.Writers) is { } rejection)
            {
                rejections.Add(rejection);
            }
        }

        if (rejections.Count > 0)
        {
            return Refused(SubmitOutcome.Forbidden, rejections);
        }

        // Retries: an updateId already in the log with the same content gets its original receipt. A log that refuses
        // retained ids in the append itself is asked only when the first attempt is refused: a refusal (a failed
        // precondition, the quota, a repeated id) may be a retry's, which the lookup turns into its receipt.
        for (var lookUp = !log.RefusesRetainedUpdateIds; ; lookUp = true)
        {
            var receipts = new UpdateReceipt?[candidates.Length];
            var known = lookUp ? await log.FindUpdatesAsync(_did, candidates.Select(c => c.Update!.UpdateId).ToList()) : NoneKnown;
            var fresh = new List<UpdateCandidate>(candidates.Length);
            foreach (var candidate in candidates)
            {
                if (known.TryGetValue(candidate.Update!.UpdateId, out var logged))
                {
                    if (!string.Equals(logged.UpdateHash, candidate.UpdateHash, StringComparison.Ordinal) && !IsSameWrite(logged, candidate.Update))
                    {
                        rejections.Add(new UpdateRejection(candidate.Index, candidate.Update.UpdateId, RejectionCodes.DuplicateUpdateId, "This updateId was already committed with other content."));
                    }

                    receipts[candidate.Index] = new UpdateReceipt(logged.UpdateId, logged.Seq, logged.Root);
                }
                else
                {
                    fresh.Add(candidate);
                }
            }

            if (rejections.Count > 0)
            {
                return Refused(SubmitOutcome.Rejected, rejections);
            }

            if (fresh.Count > 0)
            {
                Refusal? refusal;
                try
                {
                    refusal = await CommitFreshAsync(key, fresh, receipts, started);
                }
                catch (UpdateLogRepeatedUpdateException) when (!lookUp)
                {
                    continue; // nothing was written and the tree is as it was
                }

                if (refusal is { } refused)
                {
                    if (!lookUp)
                    {
                        continue;
                    }

                    return Refused(refused.Outcome, refused.Rejections);
                }
            }

            return new SubmitResult(SubmitOutcome.Committed, receipts.Select(r => r!).ToList(), []);
        }
    }

    /// <summary>Orders, applies, signs, appends and publishes; null on success, or the refusal (with the tree unchanged).</summary>
    private async Task<Refusal?> CommitFreshAsync(SigningKey key, List<UpdateCandidate> fresh, UpdateReceipt?[] receipts, long started)
    {
        var rejections = await BatchPreconditions.CheckAsync(fresh, _tree, _headSeq, async path => (await log.ReadDocumentAsync(_did, path))?.Seq ?? 0);
        if (rejections.Count > 0)
        {
            var outcome = rejections.Any(r => r.Code == RejectionCodes.Conflict) ? SubmitOutcome.Conflict : SubmitOutcome.Rejected;
            return new Refusal(outcome, rejections);
        }

        var prevRoot = _tree.RootHex;
        var bytesBefore = _tree.TotalWeight;
        var batch = new TreeBatch(_tree);
        try
        {
            batch.Apply(fresh, _headSeq + 1, receipts);

            // Growth past the quota is refused; a batch that shrinks the state (deletes, smaller documents) always passes.
            if (state.State.MaxStateBytes is { } maxBytes && _tree.TotalWeight > maxBytes && _tree.TotalWeight > bytesBefore)
            {
                var wouldBe = _tree.TotalWeight;
                batch.Undo();
                return new Refusal(SubmitOutcome.QuotaExceeded, [.. fresh.Select(c => new UpdateRejection(c.Index, c.Update!.UpdateId, RejectionCodes.QuotaExceeded,
                    $"The state would hold {wouldBe:N0} bytes of documents; this exit node's quota is {maxBytes:N0} (it holds {bytesBefore:N0})."))]);
            }

            var roots = batch.Roots;
            var (commit, commitJson) = ProtocolSigner.SignCommit(key, new Commit(_did, _headSeq + 1, _headSeq + fresh.Count, prevRoot, roots, roots[^1], fresh.Select(c => c.UpdateHash!).ToList(), time.GetUtcNow().ToUnixTimeMilliseconds()));
            await log.AppendAsync(_did, new LogAppend(batch.Logged, new LoggedCommit(commit.FromSeq, commit.ToSeq, commitJson), batch.Documents));
            _headSeq = commit.ToSeq;
            VivimMetrics.Committed(fresh.Count, Stopwatch.GetElapsedTime(started));

            // Checked after the head moved, so a listener whose lease starts now either gets this batch or a head that includes it.
            Push(new CommittedBatch(_did, commit, [.. fresh.Select((c, i) => c.Update! with { Seq = commit.FromSeq + i, MerkleProof = batch.Proofs[i] })]));

            return null;
        }
        catch (Exception e)
        {
            // Nothing was acknowledged: put the tree back as it was before this batch.
            batch.Undo();

            if (e is UpdateLogConflictException)
            {
                // Another activation wrote to this log: this one's view is stale, so let the next call rebuild it.
                logger.LogWarning("Anchor {Did} lost an append race at seq {Seq}; deactivating to reload", _did, _headSeq + 1);
                this.DeactivateOnIdle();
            }

            throw;
        }
    }

    /// <summary>
    /// Hands the event to every listener whose lease holds, one one-way message each: the commit does not wait for
    /// them, and a listener that is gone costs a lost message until its lease lapses.
    /// </summary>
    private void Push(DidEvent didEvent)
    {
        if (_listeners.Count == 0)
        {
            return; // nobody listens: building the batch's updates is the caller's only cost
        }

        var now = time.GetUtcNow().UtcTicks;
        List<GrainId>? lapsed = null;
        foreach (var (id, (listener, until)) in _listeners)
        {
            if (until <= now)
            {
                (lapsed ??= []).Add(id);
                continue;
            }

            try
            {
                _ = listener.OnEventAsync(didEvent);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A hint only: the listener reconciles with the head at its next renewal and reads the gap from the log.
                logger.LogWarning(e, "Anchor {Did} could not push seq {Seq} to a listener", _did, _headSeq);
            }
        }

        foreach (var id in lapsed ?? [])
        {
            _listeners.Remove(id);
        }
    }

    /// <summary>Commits are pushed to the listener while its lease holds; the lease starts from the head returned with it.</summary>
    public Task<ListenerLease> ListenAsync(IDidListener listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        var now = time.GetUtcNow();
        var id = listener.GetGrainId();
        if (!_listeners.ContainsKey(id) && _listeners.Count >= _options.MaxListeners)
        {
            foreach (var lapsed in _listeners.Where(l => l.Value.UntilTicks <= now.UtcTicks).Select(l => l.Key).ToList())
            {
                _listeners.Remove(lapsed);
            }

            if (_listeners.Count >= _options.MaxListeners)
            {
                throw new InvalidOperationException($"Anchor {_did} already pushes to {_options.MaxListeners} listeners; try again when a lease lapses.");
            }
        }

        _listeners[id] = (listener, (now + _options.ListenerLease).UtcTicks);
        return Task.FromResult(new ListenerLease(Head(), _options.ListenerLease));
    }

    public Task<int> CountListenersAsync()
    {
        var now = time.GetUtcNow().UtcTicks;
        return Task.FromResult(_listeners.Values.Count(l => l.UntilTicks > now));
    }

    public Task NotifyRevokedAsync(CloneAccessRevoked revoked)
    {
        ArgumentNullException.ThrowIfNull(revoked);
        if (!string.Equals(revoked.Did, _did, StringComparison.Ordinal))
        {
            throw new ArgumentException($"A revocation for {revoked.Did} is not {_did}'s.", nameof(revoked));
        }

        Push(revoked);
        return Task.CompletedTask;
    }

    /// <summary>
    /// A retry re-signed by its author (an owner write retried through the exit node gets a new timestamp and signature)
    /// is the same write when author and change are the same; it gets the original receipt, not a refusal.
    /// </summary>
    private static bool IsSameWrite(LoggedUpdate logged, StateUpdate retry)
    {
        var original = ProtocolModel.Parse<StateUpdate>(System.Text.Encoding.UTF8.GetBytes(logged.Json), JsonLimits.Snapshot);
        return original.SourceDid == retry.SourceDid && original.SourceCloneId == retry.SourceCloneId
            && original.Type == retry.Type && original.Operation == retry.Operation && original.Path == retry.Path
            && original.BaseSeq == retry.BaseSeq && original.Data.Text == retry.Data.Text;
    }

    private static readonly IReadOnlyDictionary<string, LoggedUpdate> NoneKnown = new Dictionary<string, LoggedUpdate>();

    /// <summary>A batch's refusal before it is answered (and counted): the first attempt's may still turn out a retry's.</summary>
    private readonly record struct Refusal(SubmitOutcome Outcome, IReadOnlyList<UpdateRejection> Rejections);

    private static SubmitResult Refused(SubmitOutcome outcome, IReadOnlyList<UpdateRejection> rejections)
    {
        foreach (var code in rejections.GroupBy(r => r.Code, StringComparer.Ordinal))
        {
            VivimMetrics.Rejected(code.Key, code.Count()); // codes are RejectionCodes constants: a bounded set
        }

        return new(outcome, [], rejections.OrderBy(r => r.Index).ToList());
    }
}
