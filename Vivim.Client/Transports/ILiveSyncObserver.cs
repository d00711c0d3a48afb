using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Client.Transports;

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
