using Vivim.Protocol.Sync;

namespace Vivim.Feeds;

/// <summary>What a <see cref="DidFeed"/> hands its consumer, one call at a time.</summary>
public interface IDidFeedObserver
{
    /// <summary>
    /// The next commit: in seq order, each once, none missing since the feed started (what the stream lost is read
    /// from the log), except what the log no longer held.
    /// </summary>
    ValueTask OnCommittedAsync(CommittedBatch batch);

    /// <summary>The anchor's head, at every renewal, for consumers that track positions of their own (sessions' cursors).</summary>
    ValueTask OnHeadAsync(long headSeq);

    /// <summary>A clone of the DID lost access.</summary>
    ValueTask OnRevokedAsync(CloneAccessRevoked revoked);
}
