using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

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
