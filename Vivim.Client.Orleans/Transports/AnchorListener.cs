using Vivim.Anchors;
using Vivim.Feeds;
using Vivim.Protocol.Sync;

namespace Vivim.Client.Transports;

/// <summary>
/// A DID's <see cref="DidFeed"/> for an in-cluster clone: hands its commits to a live-sync observer as batches, and
/// the revocation of one clone. The observer orders, fills and reconciles as it does for every transport; the feed
/// keeps the anchor pushing to it while subscribed.
/// </summary>
public sealed class AnchorListener : IAsyncDisposable
{
    private readonly DidFeed _feed;

    private AnchorListener(DidFeed feed) => _feed = feed;

    /// <param name="cloneId">The clone whose revocation ends the session; null to ignore revocations.</param>
    public static async Task<AnchorListener> SubscribeAsync(IClusterClient client, string did, string? cloneId, ILiveSyncObserver observer)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(observer);
        return new AnchorListener(await DidFeed.StartAsync(client, did, new Forwarder(observer, cloneId)).ConfigureAwait(false));
    }

    public ValueTask DisposeAsync() => _feed.DisposeAsync();

    private sealed class Forwarder(ILiveSyncObserver observer, string? cloneId) : IDidFeedObserver
    {
        public ValueTask OnCommittedAsync(CommittedBatch batch) => observer.OnBatchAsync(batch);

        // The sync protocol asks for the head on its own schedule.
        public ValueTask OnHeadAsync(long headSeq) => ValueTask.CompletedTask;

        public ValueTask OnRevokedAsync(CloneAccessRevoked revoked) =>
            cloneId is not null && string.Equals(revoked.CloneId, cloneId, StringComparison.Ordinal) ? observer.OnRevokedAsync(revoked.Reason) : ValueTask.CompletedTask;
    }
}
