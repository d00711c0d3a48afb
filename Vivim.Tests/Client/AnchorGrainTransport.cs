using Vivim.Anchors;
using Vivim.Client.Transports;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Tests.Client;

/// <summary>
/// A transport straight onto the real <see cref="IAnchorStateGrain"/> and the DID's stream (no clone grain), so
/// the client's verification runs against what the anchor really produces.
/// </summary>
internal sealed class AnchorGrainTransport(IClusterClient client, string did) : ISyncTransport
{
    private readonly IAnchorStateGrain _anchor = client.GetGrain<IAnchorStateGrain>(did);

    public List<long> Acks { get; } = [];

    public Task<StateSnapshot> GetSnapshotAsync(CancellationToken cancellationToken) => _anchor.GetSnapshotAsync().WaitAsync(cancellationToken);

    public async Task<UpdatePage> GetUpdatesAsync(long afterSeq, int limit, CancellationToken cancellationToken) =>
        (await _anchor.GetUpdatesAsync(afterSeq, limit).WaitAsync(cancellationToken)).Parse();

    public async Task<long> GetHeadSeqAsync(CancellationToken cancellationToken) => (await _anchor.GetHeadAsync().WaitAsync(cancellationToken)).Seq;

    public Task AcknowledgeAsync(long seq, string stateHash, CancellationToken cancellationToken)
    {
        lock (Acks)
        {
            Acks.Add(seq);
        }

        return Task.CompletedTask;
    }

    public Task<SubmitResult> SubmitAsync(IReadOnlyList<string> updatesJson, CancellationToken cancellationToken) => _anchor.SubmitAsync(updatesJson).WaitAsync(cancellationToken);

    public async Task<ILiveSubscription> SubscribeAsync(ILiveSyncObserver observer, CancellationToken cancellationToken) =>
        new Subscription(await AnchorListener.SubscribeAsync(client, did, null, observer));

    private sealed class Subscription(AnchorListener listener) : ILiveSubscription
    {
        public int MaxInFlightBatches => 4;

        public ValueTask DisposeAsync() => listener.DisposeAsync();
    }
}
