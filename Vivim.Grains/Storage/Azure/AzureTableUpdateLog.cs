using Azure.Data.Tables;

namespace Vivim.Storage.Azure;

/// <summary>
/// The update log on Azure Table storage: one partition per DID in one table (default name
/// <see cref="DefaultTableName"/> under the deployment's table prefix).
/// </summary>
public sealed class AzureTableUpdateLog : IUpdateLog
{
    /// <summary>The table's name after the deployment's <c>Vivim:Storage:TablePrefix</c> (default <c>vivim</c>): <c>vivimlog</c>.</summary>
    public const string DefaultTableName = "log";

    private readonly TableClient _table;

    public AzureTableUpdateLog(TableServiceClient service, string tableName)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentException.ThrowIfNullOrEmpty(tableName);
        _table = service.GetTableClient(tableName);
    }

    /// <summary>Creates the table if it is missing (from <c>Vivim.Silo migrate</c> and at start).</summary>
    public Task EnsureCreatedAsync(CancellationToken cancellationToken = default) =>
        _table.CreateIfNotExistsAsync(cancellationToken);

    public Task AppendAsync(string did, LogAppend append, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task<LogPage> ReadAsync(string did, long afterSeq, int limit, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task<LogBounds> GetBoundsAsync(string did, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task TruncateAsync(string did, long throughSeq, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task<IReadOnlyDictionary<string, LoggedUpdate>> FindUpdatesAsync(string did, IReadOnlyCollection<string> updateIds, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task<StoredDocument?> ReadDocumentAsync(string did, string path, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public IAsyncEnumerable<StoredDocument> ReadDocumentsAsync(string did, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public IAsyncEnumerable<DocumentLeaf> ReadLeavesAsync(string did, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task DeleteAsync(string did, CancellationToken cancellationToken = default) => throw new NotImplementedException();
}
