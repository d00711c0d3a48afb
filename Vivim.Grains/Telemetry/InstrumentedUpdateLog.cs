using System.Diagnostics;
using Vivim.Storage;

namespace Vivim.Telemetry;

/// <summary>
/// Any <see cref="IUpdateLog"/>, measured: each append's latency (<c>vivim.log.append.duration</c>) and a span
/// (<c>vivim.log.append</c>) under the caller's, and storage errors (<c>vivim.log.errors</c>), tagged with
/// <see cref="Backend"/>. Registered around whatever log the host composes (<c>UpdateLogHostingExtensions</c>), so a
/// new backend is measured without further work.
/// </summary>
public sealed class InstrumentedUpdateLog : IUpdateLog
{
    private readonly IUpdateLog _inner;

    public InstrumentedUpdateLog(IUpdateLog inner, string backend)
    {
        _inner = inner;
        Backend = backend;
        VivimMetrics.DeclareLogBackend(backend);
    }

    public string Backend { get; }

    public IUpdateLog Inner => _inner;

    public bool RefusesRetainedUpdateIds => _inner.RefusesRetainedUpdateIds;

    /// <summary>A bounded tag for a log implementation: its type name without the <c>UpdateLog</c> suffix, lowercased.</summary>
    public static string BackendOf(IUpdateLog log)
    {
        ArgumentNullException.ThrowIfNull(log);
        var name = log.GetType().Name;
        var cut = name.IndexOf("UpdateLog", StringComparison.Ordinal);
        return (cut > 0 ? name[..cut] : name).ToLowerInvariant();
    }

    public async Task AppendAsync(string did, LogAppend append, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(append);
        using var activity = VivimTracing.Source.StartActivity("vivim.log.append", ActivityKind.Client);
        activity?.SetTag("db.system.name", Backend);
        activity?.SetTag("vivim.updates", append.Updates.Count);
        var started = Stopwatch.GetTimestamp();
        try
        {
            await _inner.AppendAsync(did, append, cancellationToken);
            VivimMetrics.LogAppended(Backend, Stopwatch.GetElapsedTime(started));
        }
        catch (Exception e) when (e is not UpdateLogConflictException and not UpdateLogRepeatedUpdateException and not OperationCanceledException)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e.GetType().Name);
            VivimMetrics.LogFailed(Backend, "append");
            throw;
        }
    }

    public Task<LogPage> ReadAsync(string did, long afterSeq, int limit, CancellationToken cancellationToken = default) =>
        Measured("read", _inner.ReadAsync(did, afterSeq, limit, cancellationToken));

    public Task<PackedLogPage> ReadPackedAsync(string did, long afterSeq, int limit, CancellationToken cancellationToken = default) =>
        Measured("read", _inner.ReadPackedAsync(did, afterSeq, limit, cancellationToken));

    public Task<LogBounds> GetBoundsAsync(string did, CancellationToken cancellationToken = default) =>
        Measured("bounds", _inner.GetBoundsAsync(did, cancellationToken));

    public Task TruncateAsync(string did, long throughSeq, CancellationToken cancellationToken = default) =>
        Measured("truncate", _inner.TruncateAsync(did, throughSeq, cancellationToken));

    public Task<IReadOnlyDictionary<string, LoggedUpdate>> FindUpdatesAsync(string did, IReadOnlyCollection<string> updateIds, CancellationToken cancellationToken = default) =>
        Measured("find", _inner.FindUpdatesAsync(did, updateIds, cancellationToken));

    public Task<StoredDocument?> ReadDocumentAsync(string did, string path, CancellationToken cancellationToken = default) =>
        Measured("document", _inner.ReadDocumentAsync(did, path, cancellationToken));

    public IAsyncEnumerable<StoredDocument> ReadDocumentsAsync(string did, CancellationToken cancellationToken = default) => _inner.ReadDocumentsAsync(did, cancellationToken);

    public IAsyncEnumerable<DocumentLeaf> ReadLeavesAsync(string did, CancellationToken cancellationToken = default) => _inner.ReadLeavesAsync(did, cancellationToken);

    public Task DeleteAsync(string did, CancellationToken cancellationToken = default) =>
        Measured("delete", _inner.DeleteAsync(did, cancellationToken));

    // Errors only: a task that already succeeded (the common case for cached reads) costs one check.
    private Task<T> Measured<T>(string operation, Task<T> task) => task.IsCompletedSuccessfully ? task : Observed(operation, task);

    private Task Measured(string operation, Task task) => task.IsCompletedSuccessfully ? task : Observed(operation, task);

    private async Task<T> Observed<T>(string operation, Task<T> task)
    {
        try
        {
            return await task;
        }
        catch (Exception e) when (e is not OperationCanceledException and not ArgumentException)
        {
            VivimMetrics.LogFailed(Backend, operation);
            throw;
        }
    }

    private async Task Observed(string operation, Task task)
    {
        try
        {
            await task;
        }
        catch (Exception e) when (e is not OperationCanceledException and not ArgumentException)
        {
            VivimMetrics.LogFailed(Backend, operation);
            throw;
        }
    }
}
