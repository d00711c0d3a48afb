using Orleans.Streams;
using Vivim.Anchors;
using Vivim.Client.Transports;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Benchmarks.Storage;

/// <summary>A clone transport straight onto the anchor grain (no clone grain, no gateway): what catch-up costs at its core.</summary>
internal sealed class AnchorSyncTransport(IClusterClient client, string did) : ISyncTransport
{
    private readonly IAnchorStateGrain _anchor = client.GetGrain<IAnchorStateGrain>(did);

    public int Pages { get; private set; }

    public Task<StateSnapshot> GetSnapshotAsync(CancellationToken cancellationToken) => _anchor.GetSnapshotAsync().WaitAsync(cancellationToken);

    public async Task<UpdatePage> GetUpdatesAsync(long afterSeq, int limit, CancellationToken cancellationToken)
    {
        Pages++;
        return (await _anchor.GetUpdatesAsync(afterSeq, limit).WaitAsync(cancellationToken)).Parse();
    }

    public async Task<long> GetHeadSeqAsync(CancellationToken cancellationToken) => (await _anchor.GetHeadAsync().WaitAsync(cancellationToken)).Seq;

    public Task AcknowledgeAsync(long seq, string stateHash, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<SubmitResult> SubmitAsync(IReadOnlyList<string> updatesJson, CancellationToken cancellationToken) => _anchor.SubmitAsync(updatesJson).WaitAsync(cancellationToken);

    public async Task<ILiveSubscription> SubscribeAsync(ILiveSyncObserver observer, CancellationToken cancellationToken) =>
        new Subscription(await AnchorListener.SubscribeAsync(client, did, null, observer));

    private sealed class Subscription(AnchorListener listener) : ILiveSubscription
    {
        public int MaxInFlightBatches => 4;

        public ValueTask DisposeAsync() => listener.DisposeAsync();
    }
}
