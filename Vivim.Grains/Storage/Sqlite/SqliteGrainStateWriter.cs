using System.Collections.Concurrent;
using Orleans.Storage;

namespace Vivim.Storage.Sqlite;

/// <summary>
/// Grain state of the embedded node, with every write and clear run on one dedicated thread. SQLite takes one writer
/// at a time, and when Microsoft.Data.Sqlite meets the write lock it retries by sleeping the calling thread: run from
/// grain turns, hundreds of cursor writes a second put thread-pool threads to sleep and stalled commits and WebSocket
/// delivery behind them. Queued on one thread they cost the same lock time and no pool thread. Reads stay concurrent
/// (WAL readers do not wait for writers).
/// </summary>
internal sealed class SqliteGrainStateWriter : IGrainStorage, IDisposable
{
    private readonly IGrainStorage _inner;
    private readonly WriterScheduler _scheduler = new();

    public SqliteGrainStateWriter(IGrainStorage inner) => _inner = inner;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        _inner.ReadStateAsync(stateName, grainId, grainState);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        OnWriterThread(() => _inner.WriteStateAsync(stateName, grainId, grainState));

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        OnWriterThread(() => _inner.ClearStateAsync(stateName, grainId, grainState));

    public void Dispose() => _scheduler.Dispose();

    // Continuations of the inner provider's awaits stay on the writer thread too: it is TaskScheduler.Current there.
    private Task OnWriterThread(Func<Task> write) =>
        Task.Factory.StartNew(write, CancellationToken.None, TaskCreationOptions.DenyChildAttach, _scheduler).Unwrap();

    /// <summary>Runs queued tasks in order on one background thread.</summary>
    private sealed class WriterScheduler : TaskScheduler, IDisposable
    {
        private readonly BlockingCollection<Task> _queue = [];
        private readonly Thread _thread;

        public WriterScheduler()
        {
            _thread = new Thread(Run) { IsBackground = true, Name = "vivim-sqlite-grain-state" };
            _thread.Start();
        }

        public override int MaximumConcurrencyLevel => 1;

        public void Dispose()
        {
            _queue.CompleteAdding();
            if (Thread.CurrentThread != _thread)
            {
                _thread.Join(TimeSpan.FromSeconds(30));
            }

            _queue.Dispose();
        }

        protected override void QueueTask(Task task) => _queue.Add(task);

        protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) =>
            Thread.CurrentThread == _thread && TryExecuteTask(task);

        protected override IEnumerable<Task> GetScheduledTasks() => _queue.ToArray();

        private void Run()
        {
            foreach (var task in _queue.GetConsumingEnumerable())
            {
                TryExecuteTask(task);
            }
        }
    }
}
