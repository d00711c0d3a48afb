using Vivim.Client.Transports;
using Vivim.Feeds;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Tests.Client.Wire;

/// <summary>A live-session observer that takes everything and does nothing, for tests about the session itself.</summary>
internal sealed class NullLiveObserver : ILiveSyncObserver
{
    public long Cursor => 0;

    public SyncConfig Config { get; } = new();

    public ValueTask OnBatchAsync(CommittedBatch batch) => ValueTask.CompletedTask;

    public ValueTask OnUpdatesAsync(LiveUpdates updates) => ValueTask.CompletedTask;

    public ValueTask OnHeadAsync(long headSeq) => ValueTask.CompletedTask;

    public ValueTask OnRevokedAsync(string reason) => ValueTask.CompletedTask;
}
