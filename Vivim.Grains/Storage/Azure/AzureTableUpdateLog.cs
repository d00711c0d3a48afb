using Azure;
using Azure.Data.Tables;

namespace Vivim.Storage.Azure;

/// <summary>
/// The update log on Azure Table storage (<c>docs/operations.md</c>, "The update log on Azure Table storage"). Each
/// DID is one partition with a head row whose ETag guards every append: an append is acknowledged only after the
/// entity-group transaction that moves the head succeeded. A commit that fits one transaction (the common case)
/// writes its updates, commit, index entries and documents in that transaction. A larger one is staged first: its
/// updates under keys of its own attempt (invisible until a commit names the attempt), its document and index rows
/// as projection rows; one transaction then moves the head and writes the commit, and the projection rows are copied
/// to their places afterwards, behind a watermark in the head that every document reader completes first.
/// </summary>
public sealed partial class AzureTableUpdateLog : IUpdateLog
{
    /// <summary>The table's name after the deployment's <c>Vivim:Storage:TablePrefix</c> (default <c>vivim</c>): <c>vivimlog</c>.</summary>
    public const string DefaultTableName = "log";

    /// <summary>The largest document (UTF-8 bytes of its JSON) stored: its rows must fit one transaction.</summary>
    public const int MaxDocumentBytes = 2 * 1024 * 1024;

    /// <summary>The largest commit JSON: it travels in the transaction that moves the head.</summary>
    public const int MaxCommitBytes = 2 * 1024 * 1024;

    /// <summary>The longest path or update id (in UTF-16 code units): each is kept in a string property of at most 64 KiB.</summary>
    public const int MaxKeyTextLength = 16 * 1024;

    // Azure allows 15 comparisons in a filter: the partition and 14 row keys.
    private const int KeysPerQuery = 14;

    private const int ParallelRequests = 8;

    private readonly TableClient _table;

    public AzureTableUpdateLog(TableServiceClient service, string tableName)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentException.ThrowIfNullOrEmpty(tableName);
        _table = service.GetTableClient(tableName);
    }

    public string TableName => _table.Name;

    /// <summary>Creates the table if it is missing (from <c>Vivim.Silo migrate</c> and at start).</summary>
    public async Task EnsureCreatedAsync(CancellationToken cancellationToken = default) =>
        await _table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);

    public async Task<LogBounds> GetBoundsAsync(string did, CancellationToken cancellationToken = default)
    {
        var head = await ReadHeadAsync(TableKeys.Partition(Checked(did)), cancellationToken).ConfigureAwait(false);
        return new LogBounds(head.First, head.Last);
    }

    public async Task TruncateAsync(string did, long throughSeq, CancellationToken cancellationToken = default)
    {
        var partition = TableKeys.Partition(Checked(did));
        var head = await CurrentHeadAsync(partition, cancellationToken).ConfigureAwait(false);
        if (!head.Exists)
        {
            return;
        }

        while (true)
        {
            // Never past the last seq + 1, so that the next append still lands in the retained range.
            var first = Math.Max(head.First, Math.Min(throughSeq, head.Last) + 1);
            if (first == head.First)
            {
                break;
            }

            try
            {
                var moved = head with { First = first };
                var response = await _table.UpdateEntityAsync(moved.ToEntity(partition), head.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                head = moved with { ETag = response.Headers.ETag ?? default };
                break;
            }
            catch (RequestFailedException e) when (e.Status == 412)
            {
                head = await CurrentHeadAsync(partition, cancellationToken).ConfigureAwait(false);
            }
        }

        // The head moved first, so readers never see a gap; what lies below it (also leftovers of an interrupted
        // truncation) is swept now.
        await SweepBelowAsync(partition, head.First, cancellationToken).ConfigureAwait(false);
        await SweepStaleAttemptsAsync(partition, head, cancellationToken).ConfigureAwait(false);
    }

    public async Task DeleteAsync(string did, CancellationToken cancellationToken = default)
    {
        var partition = TableKeys.Partition(Checked(did));

        // The head goes first, so no reader takes the rows being removed for a log: an append racing the erasure
        // then starts a new log, which the next round removes too.
        for (var round = 0; round < 5; round++)
        {
            try
            {
                await _table.DeleteEntityAsync(partition, TableKeys.Head, ETag.All, cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                // No log, or an earlier round removed its head.
            }

            var rows = new List<(string RowKey, ETag ETag)>();
            await foreach (var row in _table.QueryAsync<TableEntity>($"PartitionKey eq '{partition}'", maxPerPage: 1000, select: ["RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                rows.Add((row.RowKey, ETag.All));
            }

            if (rows.Count == 0)
            {
                return;
            }

            await DeleteRowsAsync(partition, rows, cancellationToken).ConfigureAwait(false);
        }

        throw new InvalidOperationException($"The log of {did} kept gaining rows while it was deleted; delete it again.");
    }

    /// <summary>
    /// Requests in parallel on the thread pool: left to itself, Parallel.ForEachAsync would run its workers on the
    /// current scheduler, which inside a grain is the activation's, one turn at a time.
    /// </summary>
    private static ParallelOptions Parallelism(CancellationToken cancellationToken) =>
        new() { MaxDegreeOfParallelism = ParallelRequests, CancellationToken = cancellationToken, TaskScheduler = TaskScheduler.Default };

    private static string Checked(string did)
    {
        ArgumentException.ThrowIfNullOrEmpty(did);
        return did;
    }

    private async Task<LogHead> ReadHeadAsync(string partition, CancellationToken cancellationToken)
    {
        var response = await _table.GetEntityIfExistsAsync<TableEntity>(partition, TableKeys.Head, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue ? LogHead.From(response.Value!) : LogHead.Missing;
    }

    /// <summary>The head with every acknowledged commit's documents and index entries in place.</summary>
    private async Task<LogHead> CurrentHeadAsync(string partition, CancellationToken cancellationToken) =>
        await ProjectAsync(partition, await ReadHeadAsync(partition, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

    /// <summary>Deletes rows in transactions; a group that fails (a row already gone, or changed) is retried row by row, skipping those.</summary>
    private async Task DeleteRowsAsync(string partition, IReadOnlyList<(string RowKey, ETag ETag)> rows, CancellationToken cancellationToken)
    {
        var groups = rows.Chunk(TableTransactions.MaxActions).ToList();
        await Parallel.ForEachAsync(groups, Parallelism(cancellationToken), async (group, ct) =>
        {
            try
            {
                await _table.SubmitTransactionAsync([.. group.Select(r => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(partition, r.RowKey), r.ETag))], ct).ConfigureAwait(false);
            }
            catch (TableTransactionFailedException)
            {
                foreach (var (rowKey, etag) in group)
                {
                    try
                    {
                        await _table.DeleteEntityAsync(partition, rowKey, etag, ct).ConfigureAwait(false);
                    }
                    catch (RequestFailedException e) when (e.Status is 404 or 412)
                    {
                        // Gone already, or rewritten since it was read: either way not this sweep's to remove.
                    }
                }
            }
        }).ConfigureAwait(false);
    }

    private async Task<List<TableEntity>> QueryAllAsync(string filter, IEnumerable<string>? select, CancellationToken cancellationToken)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in _table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: select, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            rows.Add(row);
        }

        return rows;
    }

    private static string Range(string partition, string fromKey, string toKey) =>
        $"PartitionKey eq '{partition}' and RowKey ge '{fromKey}' and RowKey lt '{toKey}'";

    private static string AnyOf(string partition, IEnumerable<string> rowKeys) =>
        $"PartitionKey eq '{partition}' and ({string.Join(" or ", rowKeys.Select(k => $"RowKey eq '{k}'"))})";

    private static string ContinuationsOf(string partition, string rowKey) =>
        Range(partition, rowKey + TableKeys.ContinuationSeparator, rowKey + (char)(TableKeys.ContinuationSeparator + 1));
}
