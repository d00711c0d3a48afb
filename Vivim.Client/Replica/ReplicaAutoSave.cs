using System.Threading.Channels;
using Vivim.Client.Sync;

namespace Vivim.Client.Replica;

/// <summary>
/// Keeps a <see cref="ReplicaStore"/> current with a running <see cref="SyncProtocol"/>: each completed sync pass
/// (and status change, which a snapshot load raises) asks for a save; saves run one at a time off the sync path and
/// coalesce, so a burst of batches costs one write. Disposing writes the final state.
/// </summary>
public sealed class ReplicaAutoSave : IAsyncDisposable
{
    private readonly ReplicaStore _store;
    private readonly SyncProtocol _sync;
    private readonly Channel<bool> _requests = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Task _loop;
    private readonly Lock _lock = new();
    private (long Cursor, string Root) _saved;

    internal ReplicaAutoSave(ReplicaStore store, SyncProtocol sync)
    {
        _store = store;
        _sync = sync;
        _saved = (sync.Replica.IsInitialized ? sync.Replica.Cursor : -1, sync.Replica.Root);
        sync.SyncCompleted += OnChanged;
        sync.StatusChanged += OnChanged;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Saves that failed (a full disk, say); the replica in memory is unaffected and the next save retries.</summary>
    public event EventHandler<Exception>? SaveFailed;

    public int Saves { get; private set; }

    /// <summary>Writes now if the replica moved since the last save.</summary>
    public void SaveNow()
    {
        lock (_lock)
        {
            var replica = _sync.Replica;
            if (!replica.IsInitialized || (replica.Cursor, replica.Root) == _saved)
            {
                return;
            }

            var state = (replica.Cursor, replica.Root);
            _store.Save(replica, _sync.ParentDid);
            _saved = state;
            Saves++;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _sync.SyncCompleted -= OnChanged;
        _sync.StatusChanged -= OnChanged;
        _requests.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        TrySave();
    }

    private void OnChanged(object? sender, EventArgs e) => _requests.Writer.TryWrite(true);

    private async Task LoopAsync()
    {
        await foreach (var _ in _requests.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            TrySave();
        }
    }

    private void TrySave()
    {
        try
        {
            SaveNow();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            SaveFailed?.Invoke(this, e);
        }
    }
}
