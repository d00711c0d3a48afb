using Vivim.Client.Transports;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Client.P2p.Relay;

/// <summary>A relay's own transport: everything it pulls from its parent is also kept in its <see cref="RelayLog"/> to re-serve.</summary>
internal sealed class RecordingTransport(ISyncTransport inner, RelayLog log) : ISyncTransport
{
    public async Task<StateSnapshot> GetSnapshotAsync(CancellationToken cancellationToken)
    {
        var snapshot = await inner.GetSnapshotAsync(cancellationToken).ConfigureAwait(false);
        log.RecordSnapshot(snapshot);
        return snapshot;
    }

    public async Task<UpdatePage> GetUpdatesAsync(long afterSeq, int limit, CancellationToken cancellationToken)
    {
        var page = await inner.GetUpdatesAsync(afterSeq, limit, cancellationToken).ConfigureAwait(false);
        log.RecordPage(page);
        return page;
    }

    public Task<long> GetHeadSeqAsync(CancellationToken cancellationToken) => inner.GetHeadSeqAsync(cancellationToken);

    public Task AcknowledgeAsync(long seq, string stateHash, CancellationToken cancellationToken) => inner.AcknowledgeAsync(seq, stateHash, cancellationToken);

    public Task<SubmitResult> SubmitAsync(IReadOnlyList<string> updatesJson, CancellationToken cancellationToken) => inner.SubmitAsync(updatesJson, cancellationToken);

    public Task<ILiveSubscription> SubscribeAsync(ILiveSyncObserver observer, CancellationToken cancellationToken) => inner.SubscribeAsync(observer, cancellationToken);
}
