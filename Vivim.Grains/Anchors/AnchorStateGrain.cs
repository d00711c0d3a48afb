using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Runtime;
using Vivim.ExitNodes;
using Vivim.Feeds;
using Vivim.Hosting;
using Vivim.Keys;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Merkle;
using Vivim.Protocol.Sync;
using Vivim.Security;
using Vivim.Storage;

namespace Vivim.Anchors;

/// <summary>
/// The canonical state of one DID. Reentrant so that reads and the (CPU-heavy) signature checks of concurrent
/// batches interleave; everything that orders or reads a consistent state runs under <see cref="_commitLock"/>.
/// Grain state is the parent key, the writer registry, clones' cursors, the retention checkpoint and the state quota:
/// the head and the tree are rebuilt from the update log, which is the source of truth, so no second write can
/// disagree with it. The commit path, retention and reads are in the partial files of those names.
/// </summary>
[Reentrant]
public sealed partial class AnchorStateGrain(
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
    private readonly Dictionary<GrainId, (IDidListener Listener, long UntilTicks)> _listeners = [];
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
