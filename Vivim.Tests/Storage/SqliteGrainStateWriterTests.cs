using Orleans.Storage;
using Vivim.Storage.Sqlite;

namespace Vivim.Tests.Storage;

/// <summary>
/// The embedded node's grain-state writes leave the thread pool: the driver sleeps the calling thread while SQLite's
/// write lock is taken, so writes and clears run on the writer's own thread, continuations included. (The SQLite conformance
/// tests run the real provider through it.)
/// </summary>
public sealed class SqliteGrainStateWriterTests
{
    [Fact]
    public async Task Writes_and_clears_run_on_the_writer_thread_even_after_an_await_and_reads_do_not()
    {
        var inner = new RecordingStorage();
        using var writer = new SqliteGrainStateWriter(inner);
        var grain = GrainId.Create("test", "a");
        var slot = new Slot<int>();

        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() => i % 4 == 0 ? writer.ClearStateAsync("s", grain, slot) : writer.WriteStateAsync("s", grain, slot))));
        await writer.ReadStateAsync("s", grain, slot);

        Assert.Equal(40, inner.Writes.Count);
        Assert.All(inner.Writes, w => Assert.Equal(("vivim-sqlite-grain-state", "vivim-sqlite-grain-state"), (w.Before, w.After)));
        Assert.NotEqual("vivim-sqlite-grain-state", Assert.Single(inner.Reads));
    }

    [Fact]
    public async Task A_failing_write_fails_its_caller_and_the_writer_goes_on()
    {
        var inner = new RecordingStorage { FailNext = true };
        using var writer = new SqliteGrainStateWriter(inner);
        var grain = GrainId.Create("test", "b");
        await Assert.ThrowsAsync<InconsistentStateException>(() => writer.WriteStateAsync("s", grain, new Slot<int>()));
        await writer.WriteStateAsync("s", grain, new Slot<int>());
        Assert.Single(inner.Writes);
    }

    /// <summary>An inner provider that records on which thread each call started and, after an await, ended.</summary>
    private sealed class RecordingStorage : IGrainStorage
    {
        public bool FailNext { get; set; }

        public List<(string? Before, string? After)> Writes { get; } = [];

        public List<string?> Reads { get; } = [];

        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            lock (Reads)
            {
                Reads.Add(Thread.CurrentThread.Name);
            }

            return Task.CompletedTask;
        }

        public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => RecordAsync();

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => RecordAsync();

        private async Task RecordAsync()
        {
            var before = Thread.CurrentThread.Name;
            await Task.Yield();
            if (FailNext)
            {
                FailNext = false;
                throw new InconsistentStateException("etag mismatch");
            }

            lock (Writes)
            {
                Writes.Add((before, Thread.CurrentThread.Name));
            }
        }
    }
}
