using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Vivim.Hosting;
using Vivim.Storage;
using Vivim.Storage.Sqlite;
using Vivim.Telemetry;

namespace Vivim.Tests.Operations;

/// <summary>Whatever update log a host registers is measured, tagged with a bounded backend name.</summary>
public sealed class UpdateLogInstrumentationTests
{
    [Fact]
    public void The_registered_log_is_wrapped_with_its_backend_and_a_new_backend_needs_no_further_work()
    {
        var data = Path.Combine(Path.GetTempPath(), "vivim-log-instrumentation-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(data);
        try
        {
            var services = new ServiceCollection().AddVivimUpdateLog(StorageLocation.Resolve(new VivimStorageOptions(), data));
            using (var provider = services.BuildServiceProvider())
            {
                var log = Assert.IsType<InstrumentedUpdateLog>(provider.GetRequiredService<IUpdateLog>());
                Assert.Equal("sqlite", log.Backend);
                Assert.IsType<SqliteUpdateLog>(log.Inner);
            }

            // A backend added later (an Azure table log, say) registered the same way is wrapped too.
            var other = new ServiceCollection().AddSingleton<IUpdateLog, AzureTableUpdateLog>().AddUpdateLogInstrumentation().AddUpdateLogInstrumentation();
            using var otherProvider = other.BuildServiceProvider();
            var wrapped = Assert.IsType<InstrumentedUpdateLog>(otherProvider.GetRequiredService<IUpdateLog>());
            Assert.Equal("azuretable", wrapped.Backend);
            Assert.IsType<AzureTableUpdateLog>(wrapped.Inner); // once, not twice
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task An_append_records_its_latency_and_a_storage_error_is_counted_by_backend_but_a_lost_race_is_not()
    {
        var recorded = new List<(string Instrument, string? Backend, double Value)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == VivimMetrics.MeterName && instrument.Name is "vivim.log.append.duration" or "vivim.log.errors")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? backend = null;
            foreach (var tag in tags)
            {
                backend = tag.Key == "backend" ? tag.Value as string : backend;
            }

            if (backend == "azuretable")
            {
                lock (recorded)
                {
                    recorded.Add((instrument.Name, backend, value));
                }
            }
        }

        listener.SetMeasurementEventCallback<double>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        listener.Start();

        var inner = new AzureTableUpdateLog();
        var log = new InstrumentedUpdateLog(inner, InstrumentedUpdateLog.BackendOf(inner));
        var append = new LogAppend([], new LoggedCommit(1, 1, "{}"), []);
        await log.AppendAsync("did:key:z", append);
        inner.Failure = new IOException("the table is gone");
        await Assert.ThrowsAsync<IOException>(() => log.AppendAsync("did:key:z", append));
        inner.Failure = new UpdateLogConflictException("raced");
        await Assert.ThrowsAsync<UpdateLogConflictException>(() => log.AppendAsync("did:key:z", append));

        lock (recorded)
        {
            Assert.Single(recorded, r => r.Instrument == "vivim.log.append.duration" && r.Value >= 0);
            Assert.Single(recorded, r => r.Instrument == "vivim.log.errors" && r.Value == 1);
        }
    }

    /// <summary>Stands for a backend this branch does not know of.</summary>
    private sealed class AzureTableUpdateLog : IUpdateLog
    {
        public Exception? Failure { get; set; }

        public Task AppendAsync(string did, LogAppend append, CancellationToken cancellationToken = default) => Failure is { } e ? Task.FromException(e) : Task.CompletedTask;

        public Task<LogPage> ReadAsync(string did, long afterSeq, int limit, CancellationToken cancellationToken = default) => Task.FromResult(new LogPage([], []));

        public Task<LogBounds> GetBoundsAsync(string did, CancellationToken cancellationToken = default) => Task.FromResult(new LogBounds(1, 0));

        public Task TruncateAsync(string did, long throughSeq, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task<IReadOnlyDictionary<string, LoggedUpdate>> FindUpdatesAsync(string did, IReadOnlyCollection<string> updateIds, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyDictionary<string, LoggedUpdate>>(new Dictionary<string, LoggedUpdate>());

        public Task<StoredDocument?> ReadDocumentAsync(string did, string path, CancellationToken cancellationToken = default) => Task.FromResult<StoredDocument?>(null);

        public IAsyncEnumerable<StoredDocument> ReadDocumentsAsync(string did, CancellationToken cancellationToken = default) => AsyncEnumerable.Empty<StoredDocument>();

        public IAsyncEnumerable<DocumentLeaf> ReadLeavesAsync(string did, CancellationToken cancellationToken = default) => AsyncEnumerable.Empty<DocumentLeaf>();

        public Task DeleteAsync(string did, CancellationToken cancellationToken = default) => Task.CompletedTask;
    }
}
