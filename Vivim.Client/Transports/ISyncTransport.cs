using Vivim.Anchors;
using Vivim.Feeds;
using Vivim.Protocol.Model;

namespace Vivim.Client.Transports;

/// <summary>
/// How a clone reaches its parent (in-cluster Orleans, HTTP/WebSocket, libp2p). Transports move data only:
/// everything they deliver is verified by <see cref="Sync.SyncProtocol"/>, which also orders live batches, fills
/// gaps by pulling and reconciles with the head.
/// </summary>
public interface ISyncTransport
{
    Task<StateSnapshot> GetSnapshotAsync(CancellationToken cancellationToken);

    /// <summary>Committed updates with seq &gt; <paramref name="afterSeq"/> (at most <paramref name="limit"/>) and every commit overlapping them.</summary>
    Task<UpdatePage> GetUpdatesAsync(long afterSeq, int limit, CancellationToken cancellationToken);

    /// <summary>The anchor's last seq, to notice being behind when the last live event was lost.</summary>
    Task<long> GetHeadSeqAsync(CancellationToken cancellationToken);

    /// <summary>Everything up to <paramref name="seq"/> is applied; the parent persists the cursor.</summary>
    Task AcknowledgeAsync(long seq, string stateHash, CancellationToken cancellationToken);

    /// <summary>Submits updates (JSON text as signed by their author), atomically.</summary>
    Task<SubmitResult> SubmitAsync(IReadOnlyList<string> updatesJson, CancellationToken cancellationToken);

    /// <summary>Opens a live session: committed batches as hints, and notice of revocation.</summary>
    Task<ILiveSubscription> SubscribeAsync(ILiveSyncObserver observer, CancellationToken cancellationToken);
}

/// <summary>Receives what a live session delivers; called from the transport's threads.</summary>
public interface ILiveSyncObserver
{
    /// <summary>The last applied seq: where a transport's (re)connecting session asks the parent to resume.</summary>
    long Cursor { get; }

    /// <summary>The clone's sync settings (batch size, compression) for transports that negotiate them.</summary>
    SyncConfig Config { get; }

    /// <summary>A committed batch, possibly duplicated, late or after a lost one.</summary>
    ValueTask OnBatchAsync(CommittedBatch batch);

    /// <summary>
    /// Updates of a live session in seq order with every commit overlapping them (a WebSocket batch), possibly
    /// duplicated or after a lost one. See <see cref="LiveUpdates.MayEndInsideCommit"/>.
    /// </summary>
    ValueTask OnUpdatesAsync(LiveUpdates updates);

    /// <summary>
    /// The parent's head as a session reports it (heartbeats, or a resync request); a clone behind it pulls from the
    /// log, which also takes a new snapshot when the log no longer reaches its cursor.
    /// </summary>
    ValueTask OnHeadAsync(long headSeq);

    /// <summary>The clone lost access (suspended, removed, deregistered): the session is over.</summary>
    ValueTask OnRevokedAsync(string reason);
}

/// <summary>An open live session; disposing it closes the session.</summary>
public interface ILiveSubscription : IAsyncDisposable
{
    /// <summary>How many unacknowledged batches the parent allows this session.</summary>
    int MaxInFlightBatches { get; }
}

/// <summary>
/// What a live session delivered: updates in seq order, every commit overlapping them, and the parent's head. When
/// <see cref="MayEndInsideCommit"/> (the batch was cut at the session's batch size, like a full page) the last update
/// may stop inside its commit, since every root of a commit is signed; otherwise the last commit must be complete.
/// </summary>
public sealed record LiveUpdates(IReadOnlyList<StateUpdate> Updates, IReadOnlyList<Commit> Commits, long HeadSeq, bool MayEndInsideCommit);

/// <summary>The parent revoked this clone's access.</summary>
public sealed class CloneRevokedException(string message, Exception? inner = null) : Exception(message, inner);
