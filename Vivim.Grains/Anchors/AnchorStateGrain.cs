using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Runtime;
using Orleans.Streams;
using Vivim.ExitNodes;
using Vivim.Feeds;
using Vivim.Hosting;
using Vivim.Keys;
using Vivim.Protocol;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Merkle;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Protocol.State;
using Vivim.Security;
using Vivim.Storage;

namespace Vivim.Anchors;

/// <summary>
/// The canonical state of one DID. Reentrant so that reads and the (CPU-heavy) signature checks of concurrent
/// batches interleave; everything that orders or reads a consistent state runs under <see cref="_commitLock"/>.
/// Only the parent key and the writer registry are grain state: the head and the tree are rebuilt from the update
/// log, which is the source of truth, so no second write can disagree with it.
/// </summary>
[Reentrant]
public sealed class AnchorStateGrain(
    [PersistentState("anchor", VivimProviders.GrainState)] IPersistentState<AnchorStateGrain.Record> state,
    IUpdateLog log,
    KeyVault vault,
    IOptions<AnchorOptions> options,
    TimeProvider time,
    ILogger<AnchorStateGrain> logger) : Grain, IAnchorStateGrain, IGuardedGrain
{
    private readonly SemaphoreSlim _commitLock = new(1, 1);
    private readonly SemaphoreSlim _stateGate = new(1, 1);
    private bool _cursorsDirty;
    private readonly AnchorOptions _options = options.Value;
    private string _did = string.Empty;
    private SigningKey? _key;
    private SparseMerkleTree _tree = new();
    private long _headSeq;
    private long _retainedFromSeq = 1;
    private IAsyncStream<DidEvent>? _stream;
    private long _publishUntilTicks;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, DidKey> _authors = new(StringComparer.Ordinal);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _did = this.GetPrimaryKeyString();
        if (state.State.ParentKey is { } sealedKey)
        {
            _key = vault.Unseal(sealedKey, _did);
        }

        var bounds = await log.GetBoundsAsync(_did, cancellationToken);
        _headSeq = bounds.LastSeq;
        _retainedFromSeq = bounds.FirstRetainedSeq;
        _tree = await StateTreeReader.ReadAsync(log, _did, cancellationToken);
        _stream = this.GetStreamProvider(DidStreams.Provider).GetStream<DidEvent>(DidStreams.For(_did));
        logger.LogDebug("Anchor {Did} activated at seq {Seq} with {Documents} documents", _did, _headSeq, _tree.Count);
        if (_options.RetentionInterval > TimeSpan.Zero)
        {
            this.RegisterGrainTimer(_ => ApplyRetentionAsync(), new GrainTimerCreationOptions(_options.RetentionInterval, _options.RetentionInterval) { Interleave = true });
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_cursorsDirty && state.State.ParentKey is not null)
        {
            // Best effort: a lost report only makes the next pass keep more of the log.
            try
            {
                await WriteStateAsync();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                logger.LogWarning(e, "Anchor {Did} could not save clone cursors on deactivation", _did);
            }
        }

        _key?.Dispose();
        _key = null;
    }

    public async Task InitializeAsync(AnchorSetup setup)
    {
        ArgumentNullException.ThrowIfNull(setup);
        ArgumentOutOfRangeException.ThrowIfNegative(setup.MaxStateBytes ?? 0, nameof(setup));
        if (state.State.ParentKey is { } existing)
        {
            using var current = vault.Unseal(existing, _did);
            using var offered = vault.Unseal(setup.ParentKey, _did);
            if (!current.PublicKey.AsSpan().SequenceEqual(offered.PublicKey))
            {
                throw new InvalidOperationException($"Anchor {_did} is already bound to another key.");
            }

            if (state.State.MaxStateBytes != setup.MaxStateBytes)
            {
                await _commitLock.WaitAsync();
                try
                {
                    state.State.MaxStateBytes = setup.MaxStateBytes;
                    await WriteStateAsync();
                }
                finally
                {
                    _commitLock.Release();
                }
            }

            return;
        }

        var key = vault.Unseal(setup.ParentKey, _did);
        if (!string.Equals(key.Did.Value, _did, StringComparison.Ordinal))
        {
            key.Dispose();
            throw new ArgumentException("The parent key's DID is not this anchor's DID.", nameof(setup));
        }

        state.State.ParentKey = setup.ParentKey;
        state.State.MaxStateBytes = setup.MaxStateBytes;
        await WriteStateAsync();
        _key = key;
    }

    public async Task SetWriterAsync(WriterGrant grant)
    {
        state.State.Writers[grant.CloneId] = grant;
        await WriteStateAsync();
    }

    public Task ReportCursorAsync(string cloneId, long seq)
    {
        if (!string.IsNullOrEmpty(cloneId) && cloneId.Length <= 256 && seq >= 0 && seq <= _headSeq)
        {
            var seenAt = time.GetUtcNow().ToUnixTimeMilliseconds();
            var previous = state.State.Cursors.GetValueOrDefault(cloneId);
            state.State.Cursors[cloneId] = new CloneCursor(Math.Max(seq, previous?.Seq ?? 0), seenAt);
            _cursorsDirty = true;
        }

        return Task.CompletedTask;
    }

    public async Task<AnchorHead> ApplyRetentionAsync()
    {
        var now = time.GetUtcNow();
        var windowStart = (now - _options.Retention).ToUnixTimeMilliseconds();
        var capStart = (now - _options.RetentionCap).ToUnixTimeMilliseconds();

        // The horizons: the last seq committed before the window, and before the cap (scanned outside the lock).
        long windowHorizon = 0, capHorizon = 0;
        string? horizonRoot = null, capRoot = null;
        var after = _retainedFromSeq - 1;
        for (var scanned = 0; scanned < _options.RetentionScanUpdates && after < _headSeq;)
        {
            var page = await log.ReadAsync(_did, after, _options.MaxPageUpdates);
            if (page.Updates.Count == 0)
            {
                break;
            }

            var done = false;
            foreach (var commit in page.Commits.Select(c => ProtocolModel.Parse<Commit>(System.Text.Encoding.UTF8.GetBytes(c.Json), JsonLimits.Snapshot)).OrderBy(c => c.FromSeq))
            {
                if (commit.ToSeq <= after)
                {
                    continue;
                }

                if (commit.Timestamp >= windowStart)
                {
                    done = true;
                    break;
                }

                (windowHorizon, horizonRoot) = (commit.ToSeq, commit.Root);
                if (commit.Timestamp < capStart)
                {
                    (capHorizon, capRoot) = (commit.ToSeq, commit.Root);
                }
            }

            scanned += page.Updates.Count;
            after = page.Updates[^1].Seq;
            if (done)
            {
                break;
            }
        }

        await _commitLock.WaitAsync();
        try
        {
            // Active clones (seen within the cap) hold the log back to their cursor; nothing is kept past the cap.
            foreach (var idle in state.State.Cursors.Where(c => c.Value.SeenAt < capStart).Select(c => c.Key).ToList())
            {
                state.State.Cursors.Remove(idle);
                _cursorsDirty = true;
            }

            var activeFloor = state.State.Cursors.Count == 0 ? long.MaxValue : state.State.Cursors.Values.Min(c => c.Seq);
            var through = Math.Max(capHorizon, Math.Min(windowHorizon, activeFloor));
            if (through >= _retainedFromSeq)
            {
                var root = through == windowHorizon ? horizonRoot : through == capHorizon ? capRoot : await RootAtAsync(through);
                await log.TruncateAsync(_did, through);
                _retainedFromSeq = through + 1;
                state.State.Checkpoint = new RetentionCheckpoint(through, root ?? string.Empty, now.ToUnixTimeMilliseconds());
                _cursorsDirty = true;
                logger.LogInformation("Anchor {Did} dropped its log through seq {Seq}", _did, through);
            }

            if (_cursorsDirty)
            {
                await WriteStateAsync();
            }
        }
        finally
        {
            _commitLock.Release();
        }

        return await GetHeadAsync();
    }

    private async Task<string?> RootAtAsync(long seq)
    {
        var page = await log.ReadAsync(_did, seq - 1, 1);
        return page.Commits
            .Select(c => ProtocolModel.Parse<Commit>(System.Text.Encoding.UTF8.GetBytes(c.Json), JsonLimits.Snapshot))
            .Where(c => c.FromSeq <= seq && seq <= c.ToSeq)
            .Select(c => c.Roots[(int)(seq - c.FromSeq)])
            .FirstOrDefault();
    }

    /// <summary>One state write at a time: this grain is reentrant and concurrent writes would race on the ETag.</summary>
    private async Task WriteStateAsync()
    {
        await _stateGate.WaitAsync();
        try
        {
            var wereDirty = _cursorsDirty;
            _cursorsDirty = false;
            try
            {
                await state.WriteStateAsync();
            }
            catch
            {
                _cursorsDirty |= wereDirty;
                throw;
            }
        }
        finally
        {
            _stateGate.Release();
        }
    }

    public async Task<SubmitResult> SubmitAsync(IReadOnlyList<string> updatesJson)
    {
        var key = _key ?? throw new NotHostedException($"{_did} is not hosted here.");
        if (updatesJson.Count == 0)
        {
            return new SubmitResult(SubmitOutcome.Committed, [], []);
        }

        if (updatesJson.Count > _options.MaxBatchUpdates)
        {
            return Refused(SubmitOutcome.Rejected, [new UpdateRejection(0, null, RejectionCodes.TooLarge, $"A batch holds at most {_options.MaxBatchUpdates} updates.")]);
        }

        // Signature checks dominate the cost: run them on the thread pool, in parallel, before taking the lock. One work
        // item per core, not a Parallel.For, which would block a pool thread per batch while concurrent batches wait.
        var now = time.GetUtcNow();
        var candidates = new UpdateCandidate[updatesJson.Count];
        var parts = Math.Min(Environment.ProcessorCount, updatesJson.Count);
        await Task.WhenAll(Enumerable.Range(0, parts).Select(part => Task.Run(() =>
        {
            for (var i = part; i < candidates.Length; i += parts)
            {
                candidates[i] = UpdateCandidate.Check(i, updatesJson[i], _options, now, _authors);
            }
        })));

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
            return await CommitAsync(key, candidates);
        }
        finally
        {
            _commitLock.Release();
        }
    }

    private async Task<SubmitResult> CommitAsync(SigningKey key, UpdateCandidate[] candidates)
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

        // Retries: an updateId already in the log with the same content gets its original receipt.
        var receipts = new UpdateReceipt?[candidates.Length];
        var known = await log.FindUpdatesAsync(_did, candidates.Select(c => c.Update!.UpdateId).ToList());
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
            var outcome = await CommitFreshAsync(key, fresh, receipts);
            if (outcome is not null)
            {
                return outcome;
            }
        }

        return new SubmitResult(SubmitOutcome.Committed, receipts.Select(r => r!).ToList(), []);
    }

    /// <summary>Orders, applies, signs, appends and publishes; null on success, or the refusal (with the tree unchanged).</summary>
    private async Task<SubmitResult?> CommitFreshAsync(SigningKey key, List<UpdateCandidate> fresh, UpdateReceipt?[] receipts)
    {
        var rejections = await CheckPreconditionsAsync(fresh);
        if (rejections.Count > 0)
        {
            var outcome = rejections.Any(r => r.Code == RejectionCodes.Conflict) ? SubmitOutcome.Conflict : SubmitOutcome.Rejected;
            return Refused(outcome, rejections);
        }

        var prevRoot = _tree.RootHex;
        var bytesBefore = _tree.TotalWeight;
        var undo = new List<(byte[] Key, byte[]? Previous, int PreviousBytes)>(fresh.Count);
        var logged = new List<LoggedUpdate>(fresh.Count);
        var proofs = new List<string>(fresh.Count);
        var documents = new List<DocumentChange>(fresh.Count);
        var roots = new List<string>(fresh.Count);
        try
        {
            for (var i = 0; i < fresh.Count; i++)
            {
                var candidate = fresh[i];
                var update = candidate.Update!;
                var seq = _headSeq + 1 + i;
                var documentKey = candidate.DocumentKey!;
                undo.Add((documentKey, _tree.TryGetValue(documentKey, out var previous) ? previous : null, _tree.GetWeight(documentKey)));
                if (update.Operation == UpdateOperation.Delete)
                {
                    _tree.Remove(documentKey);
                    documents.Add(new DocumentChange(update.Path, null, null, seq));
                }
                else
                {
                    _tree.Set(documentKey, candidate.DocumentValue!, candidate.DocumentBytes);
                    documents.Add(new DocumentChange(update.Path, update.Data.Text, candidate.DocumentValue, seq));
                }

                var root = _tree.RootHex;
                var proof = _tree.GetProof(documentKey).ToBase64Url();
                var stored = candidate.Json!; // owned by this batch, so it can take the anchor's fields in place
                stored["seq"] = seq;
                stored["merkleProof"] = proof;
                logged.Add(new LoggedUpdate(seq, update.UpdateId, candidate.UpdateHash!, root, JavaScriptJson.Stringify(stored)));
                proofs.Add(proof);
                roots.Add(root);
                receipts[candidate.Index] = new UpdateReceipt(update.UpdateId, seq, root);
            }

            // Growth past the quota is refused; a batch that shrinks the state (deletes, smaller documents) always passes.
            if (state.State.MaxStateBytes is { } maxBytes && _tree.TotalWeight > maxBytes && _tree.TotalWeight > bytesBefore)
            {
                var wouldBe = _tree.TotalWeight;
                Undo();
                return Refused(SubmitOutcome.QuotaExceeded, [.. fresh.Select(c => new UpdateRejection(c.Index, c.Update!.UpdateId, RejectionCodes.QuotaExceeded,
                    $"The state would hold {wouldBe:N0} bytes of documents; this exit node's quota is {maxBytes:N0} (it holds {bytesBefore:N0})."))]);
            }

            var commit = SignCommit(key, new Commit(_did, _headSeq + 1, _headSeq + fresh.Count, prevRoot, roots, roots[^1], fresh.Select(c => c.UpdateHash!).ToList(), time.GetUtcNow().ToUnixTimeMilliseconds()));
            await log.AppendAsync(_did, new LogAppend(logged, new LoggedCommit(commit.FromSeq, commit.ToSeq, ProtocolModel.ToJson(commit)), documents));
            _headSeq = commit.ToSeq;

            // Publishing serializes, queues and caches the whole batch: only worth it while somebody listens. Checked
            // after the head moved, so a listener whose lease starts now either gets this batch or a head that includes it.
            if (time.GetUtcNow().UtcTicks < _publishUntilTicks)
            {
                await PublishAsync(new CommittedBatch(_did, commit, [.. fresh.Select((c, i) => c.Update! with { Seq = commit.FromSeq + i, MerkleProof = proofs[i] })]));
            }

            return null;
        }
        catch (Exception e)
        {
            // Nothing was acknowledged: put the tree back as it was before this batch.
            Undo();

            if (e is UpdateLogConflictException)
            {
                // Another activation wrote to this log: this one's view is stale, so let the next call rebuild it.
                logger.LogWarning("Anchor {Did} lost an append race at seq {Seq}; deactivating to reload", _did, _headSeq + 1);
                this.DeactivateOnIdle();
            }

            throw;
        }

        void Undo()
        {
            for (var i = undo.Count - 1; i >= 0; i--)
            {
                if (undo[i].Previous is { } previous)
                {
                    _tree.Set(undo[i].Key, previous, undo[i].PreviousBytes);
                }
                else
                {
                    _tree.Remove(undo[i].Key);
                }
            }
        }
    }

    /// <summary>create needs an absent document, update and delete a present one, baseSeq an unchanged one — counting earlier updates of the same batch.</summary>
    private async Task<List<UpdateRejection>> CheckPreconditionsAsync(List<UpdateCandidate> fresh)
    {
        var rejections = new List<UpdateRejection>();
        var batchWrites = new Dictionary<string, (bool Exists, long Seq)>(StringComparer.Ordinal);
        for (var i = 0; i < fresh.Count; i++)
        {
            var update = fresh[i].Update!;
            bool exists;
            long? lastSeq = null;
            if (batchWrites.TryGetValue(update.Path, out var written))
            {
                exists = written.Exists;
                lastSeq = written.Seq;
            }
            else
            {
                exists = _tree.ContainsKey(fresh[i].DocumentKey);
            }

            if (update.BaseSeq is { } baseSeq)
            {
                lastSeq ??= exists ? (await log.ReadDocumentAsync(_did, update.Path))?.Seq ?? 0 : 0;
                if (lastSeq > baseSeq)
                {
                    rejections.Add(new UpdateRejection(fresh[i].Index, update.UpdateId, RejectionCodes.Conflict, $"The document changed at seq {lastSeq}, after baseSeq {baseSeq}."));
                    continue;
                }
            }

            switch (update.Operation)
            {
                case UpdateOperation.Create when exists:
                    rejections.Add(new UpdateRejection(fresh[i].Index, update.UpdateId, RejectionCodes.AlreadyExists, $"{update.Path} already exists."));
                    break;
                case UpdateOperation.Update or UpdateOperation.Delete when !exists:
                    rejections.Add(new UpdateRejection(fresh[i].Index, update.UpdateId, RejectionCodes.NotFound, $"{update.Path} does not exist."));
                    break;
            }

            batchWrites[update.Path] = (update.Operation != UpdateOperation.Delete, _headSeq + 1 + i);
        }

        return rejections;
    }

    private Commit SignCommit(SigningKey key, Commit commit)
    {
        var json = ProtocolModel.ToJsonObject(commit);
        SignatureV2.SignInPlace(key, SignedKind.Commit, json);
        return ProtocolModel.FromJsonObject<Commit>(json);
    }

    private async Task PublishAsync(DidEvent didEvent)
    {
        try
        {
            await _stream!.OnNextAsync(didEvent);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The stream is a hint: consumers reconcile with the head and fill gaps from the log.
            logger.LogWarning(e, "Anchor {Did} could not publish seq {Seq}", _did, _headSeq);
        }
    }

    public Task<AnchorHead> GetHeadAsync() => Task.FromResult(Head());

    public Task<ListenerLease> ListenAsync()
    {
        _publishUntilTicks = Math.Max(_publishUntilTicks, (time.GetUtcNow() + _options.ListenerLease).UtcTicks);
        return Task.FromResult(new ListenerLease(Head(), _options.ListenerLease));
    }

    private AnchorHead Head() => new(_did, _headSeq, _tree.RootHex, _retainedFromSeq, _tree.TotalWeight);

    public async Task<UpdatePage> GetUpdatesAsync(long afterSeq, int limit)
    {
        var head = _headSeq;
        if (afterSeq < _retainedFromSeq - 1)
        {
            return new UpdatePage([], [], head, ResyncRequired: true);
        }

        var page = await log.ReadAsync(_did, Math.Max(afterSeq, 0), Math.Clamp(limit, 1, _options.MaxPageUpdates));
        return new UpdatePage(
            page.Updates.Select(u => ProtocolModel.Parse<StateUpdate>(System.Text.Encoding.UTF8.GetBytes(u.Json), JsonLimits.Snapshot)).ToList(),
            page.Commits.Select(c => ProtocolModel.Parse<Commit>(System.Text.Encoding.UTF8.GetBytes(c.Json), JsonLimits.Snapshot)).ToList(),
            head);
    }

    public async Task<DocumentProof?> GetDocumentAsync(string path)
    {
        await _commitLock.WaitAsync();
        try
        {
            var document = await log.ReadDocumentAsync(_did, path);
            return document is null
                ? null
                : new DocumentProof(path, new RawJson(document.Json), document.Seq, _tree.RootHex, _tree.GetProof(path).ToBase64Url());
        }
        finally
        {
            _commitLock.Release();
        }
    }

    public async Task<StateSnapshot> GetSnapshotAsync()
    {
        var key = _key ?? throw new NotHostedException($"{_did} is not hosted here.");
        await _commitLock.WaitAsync();
        try
        {
            var categories = StateRules.Categories.ToDictionary(c => c, _ => new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal), StringComparer.Ordinal);
            await foreach (var document in log.ReadDocumentsAsync(_did))
            {
                var slash = document.Path.IndexOf('/', StringComparison.Ordinal);
                categories[document.Path[..slash]][document.Path[(slash + 1)..]] = ProtocolJson.Parse(document.Json, JsonLimits.Snapshot);
            }

            JsonObject Collection(string category) => new(categories[category]);
            var identity = categories["identity"];
            var profile = identity.GetValueOrDefault("profile");
            identity.Remove("profile");
            var stateJson = SnapshotRootV1.BuildState(_did, key.PublicKeyHex, profile, Collection("nodes"), Collection("apps"), Collection("contentManifest"), Collection("socialGraph"), Collection("memoryIndex"));
            var identityJson = stateJson["identity"]!.AsObject();
            foreach (var (name, value) in identity)
            {
                identityJson[name] = value;
            }

            var stateText = JavaScriptJson.StringifyToUtf8(stateJson, JsonLimits.Snapshot);
            var snapshot = ProtocolModel.ToJsonObject(new StateSnapshot(
                SnapshotId: $"{_headSeq}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}",
                CreatedAt: time.GetUtcNow().ToUnixTimeMilliseconds(),
                SourceDid: _did,
                SourceCloneId: string.Empty,
                SdkVersion: "1.0.0",
                SchemaVersion: "1.0.0",
                MerkleRoot: SnapshotRootV1.Compute(stateText),
                State: new RawJson(System.Text.Encoding.UTF8.GetString(stateText)),
                Signature: string.Empty,
                Seq: _headSeq,
                RootV2: _tree.RootHex));
            SignatureV1.SignInPlace(key, SignedKind.StateSnapshot, snapshot);
            SignatureV2.SignInPlace(key, SignedKind.StateSnapshot, snapshot, JsonLimits.Snapshot);
            return ProtocolModel.FromJsonObject<StateSnapshot>(snapshot);
        }
        finally
        {
            _commitLock.Release();
        }
    }

    /// <summary>
    /// Reached from outside only through exit nodes and clones; a gateway's DID feeds may read the head, hold a listener
    /// lease and read the log to fill what the stream lost.
    /// </summary>
    public bool Allows(CallPrincipal principal, string method) =>
        principal.Kind == PrincipalKind.Service && method is nameof(GetHeadAsync) or nameof(ListenAsync) or nameof(GetUpdatesAsync);

    public async Task DeleteAsync()
    {
        await _commitLock.WaitAsync();
        try
        {
            await log.DeleteAsync(_did);
            await _stateGate.WaitAsync();
            try
            {
                await state.ClearStateAsync();
                state.State = new Record();
            }
            finally
            {
                _stateGate.Release();
            }

            _key?.Dispose();
            _key = null;
            _tree = new SparseMerkleTree();
            _headSeq = 0;
            _retainedFromSeq = 1;
            _authors.Clear();
        }
        finally
        {
            _commitLock.Release();
        }

        DeactivateOnIdle();
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

    private static SubmitResult Refused(SubmitOutcome outcome, IReadOnlyList<UpdateRejection> rejections) =>
        new(outcome, [], rejections.OrderBy(r => r.Index).ToList());

    /// <summary>What the anchor persists besides the log: its parent key (sealed) and who may write.</summary>
    [GenerateSerializer, Alias("vivim.AnchorStateGrain.Record")]
    public sealed class Record
    {
        [Id(0)]
        public SealedKey? ParentKey { get; set; }

        [Id(1)]
        public Dictionary<string, WriterGrant> Writers { get; set; } = new(StringComparer.Ordinal);

        /// <summary>Clones' last reported cursors, which hold the log back for active clones.</summary>
        [Id(2)]
        public Dictionary<string, CloneCursor> Cursors { get; set; } = new(StringComparer.Ordinal);

        /// <summary>Where the log was last truncated: a clone behind it must take a snapshot.</summary>
        [Id(3)]
        public RetentionCheckpoint? Checkpoint { get; set; }

        /// <summary>The bytes-of-state quota (null: none).</summary>
        [Id(4)]
        public long? MaxStateBytes { get; set; }
    }
}
