using Orleans.Streams;
using Vivim.Anchors;

namespace Vivim.Client.Transports;

/// <summary>
/// Listens on a DID's anchor stream and forwards its events to an observer: committed batches as hints, and the
/// revocation of one clone. Ordering, gaps and duplicates are the observer's business.
/// </summary>
public static class AnchorStreamListener
{
    /// <param name="cloneId">The clone whose revocation ends the session; null to ignore revocations.</param>
    public static Task<StreamSubscriptionHandle<AnchorEvent>> SubscribeAsync(IClusterClient client, string did, string? cloneId, ILiveSyncObserver observer)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(observer);
        var stream = client.GetStreamProvider(AnchorStreams.Provider).GetStream<AnchorEvent>(StreamId.Create(AnchorStreams.Namespace, did));
        return stream.SubscribeAsync((item, _) => item switch
        {
            CommittedBatch batch => observer.OnBatchAsync(batch).AsTask(),
            CloneAccessRevoked revoked when cloneId is not null && string.Equals(revoked.CloneId, cloneId, StringComparison.Ordinal) => observer.OnRevokedAsync(revoked.Reason).AsTask(),
            _ => Task.CompletedTask,
        });
    }
}
