using System.Runtime.CompilerServices;
using Azure.Data.Tables;

namespace Vivim.Storage.Azure;

public sealed partial class AzureTableUpdateLog
{
    public async Task<LogPage> ReadAsync(string did, long afterSeq, int limit, CancellationToken cancellationToken = default)
    {
        var partition = TableKeys.Partition(Checked(did));
        if (limit <= 0)
        {
            return new LogPage([], []);
        }

        // Updates and commits come from two queries: a truncation between them shows as a missing seq, and the page is read again.
        for (var read = 0; read < 3; read++)
        {
            var head = await ReadHeadAsync(partition, cancellationToken).ConfigureAwait(false);
            var first = Math.Max(afterSeq + 1, head.First);
            if (!head.Exists || first > head.Last)
            {
                return new LogPage([], []);
            }

            var last = Math.Min(head.Last, first + limit - 1);
            var commitsRead = ReadCommitsAsync(partition, first, last, head.Last, cancellationToken);
            var updateRows = ReadGroupedAsync(Range(partition, TableKeys.UpdateKey(first, ""), TableKeys.UpdateKey(last + 1, "")), cancellationToken);
            var commits = await commitsRead.ConfigureAwait(false);
            var rows = await updateRows.ConfigureAwait(false);
            if (PageOf(commits, rows, first, last) is { } updates)
            {
                return new LogPage(updates, [.. commits.Select(c => c.Commit)]);
            }
        }

        throw new InvalidOperationException($"The log of {did} kept changing while seqs after {afterSeq} were read; read again.");
    }

    public async Task<IReadOnlyDictionary<string, LoggedUpdate>> FindUpdatesAsync(string did, IReadOnlyCollection<string> updateIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(updateIds);
        var partition = TableKeys.Partition(Checked(did));
        var found = new Dictionary<string, LoggedUpdate>(StringComparer.Ordinal);
        if (updateIds.Count == 0)
        {
            return found;
        }

        var head = await CurrentHeadAsync(partition, cancellationToken).ConfigureAwait(false);
        if (!head.Exists)
        {
            return found;
        }

        var wanted = updateIds.ToHashSet(StringComparer.Ordinal);
        var indexed = await FindIndexedAsync(partition, head, wanted, cancellationToken).ConfigureAwait(false);
        var keys = indexed.Values.Select(e => TableKeys.UpdateKey(e.Seq, e.Attempt)).ToList();
        var mains = new List<TableEntity>();
        await Parallel.ForEachAsync(keys.Chunk(KeysPerQuery), Parallelism(cancellationToken), async (chunk, ct) =>
        {
            var rows = await QueryAllAsync(AnyOf(partition, chunk), null, ct).ConfigureAwait(false);
            lock (mains)
            {
                mains.AddRange(rows);
            }
        }).ConfigureAwait(false);

        foreach (var main in mains)
        {
            var continuations = ChunkedPayload.PartsOf(main) > 0
                ? await QueryAllAsync(ContinuationsOf(partition, main.RowKey), null, cancellationToken).ConfigureAwait(false)
                : [];
            var update = LogEntities.ReadUpdate(main, continuations);
            if (wanted.Contains(update.UpdateId))
            {
                found[update.UpdateId] = update;
            }
        }

        return found;
    }

    public async Task<StoredDocument?> ReadDocumentAsync(string did, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        var partition = TableKeys.Partition(Checked(did));
        var head = await CurrentHeadAsync(partition, cancellationToken).ConfigureAwait(false);
        if (!head.Exists)
        {
            return null;
        }

        var response = await _table.GetEntityIfExistsAsync<TableEntity>(partition, TableKeys.DocumentKey(path), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!response.HasValue || LogEntities.IsTombstone(response.Value!) || response.Value!.GetString(LogEntities.Path) != path)
        {
            return null;
        }

        var main = response.Value;
        var continuations = ChunkedPayload.PartsOf(main) > 0
            ? await QueryAllAsync(ContinuationsOf(partition, main.RowKey), null, cancellationToken).ConfigureAwait(false)
            : [];
        return LogEntities.ReadDocument(main, continuations);
    }

    public async IAsyncEnumerable<StoredDocument> ReadDocumentsAsync(string did, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var partition = TableKeys.Partition(Checked(did));
        var head = await CurrentHeadAsync(partition, cancellationToken).ConfigureAwait(false);
        if (!head.Exists)
        {
            yield break;
        }

        var rows = _table.QueryAsync<TableEntity>(DocumentRange(partition), maxPerPage: 1000, cancellationToken: cancellationToken);
        await foreach (var (main, continuations) in WithContinuationsAsync(rows).ConfigureAwait(false))
        {
            if (!LogEntities.IsTombstone(main))
            {
                yield return LogEntities.ReadDocument(main, continuations);
            }
        }
    }

    public async IAsyncEnumerable<DocumentLeaf> ReadLeavesAsync(string did, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var partition = TableKeys.Partition(Checked(did));
        var head = await CurrentHeadAsync(partition, cancellationToken).ConfigureAwait(false);
        if (!head.Exists)
        {
            yield break;
        }

        // Path, value and size only: the JSON never leaves the service. Tombstones and continuation rows have no value.
        await foreach (var row in _table.QueryAsync<TableEntity>(DocumentRange(partition), maxPerPage: 1000, select: LogEntities.LeafColumns, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (row.GetBinary(LogEntities.Value) is { } value)
            {
                yield return new DocumentLeaf(row.GetString(LogEntities.Path)!, value, row.GetInt32(LogEntities.Size) ?? 0);
            }
        }
    }

    /// <summary>The index entries of these ids that name retained updates: id → (seq, attempt). Queries of 14 ids, run in parallel.</summary>
    private async Task<Dictionary<string, (long Seq, string Attempt)>> FindIndexedAsync(string partition, LogHead head, IEnumerable<string> updateIds, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, (long Seq, string Attempt)>(StringComparer.Ordinal);
        foreach (var entry in await LookUpIndexAsync(partition, updateIds, cancellationToken).ConfigureAwait(false))
        {
            var seq = entry.GetInt64(LogEntities.Seq) ?? 0;
            if (seq >= head.First && seq <= head.Last)
            {
                found[entry.GetString(LogEntities.Id)!] = (seq, entry.GetString(LogEntities.Attempt) ?? "");
            }
        }

        return found;
    }

    private async Task<List<TableEntity>> LookUpIndexAsync(string partition, IEnumerable<string> updateIds, CancellationToken cancellationToken)
    {
        var wanted = updateIds.ToHashSet(StringComparer.Ordinal);
        var entries = new List<TableEntity>();
        var keys = wanted.Select(TableKeys.IndexKey).Distinct(StringComparer.Ordinal).Chunk(KeysPerQuery);
        await Parallel.ForEachAsync(keys, Parallelism(cancellationToken), async (chunk, ct) =>
        {
            var rows = await QueryAllAsync(AnyOf(partition, chunk), null, ct).ConfigureAwait(false);
            lock (entries)
            {
                // A hashed key could in principle stand for another id: the entry names its own.
                entries.AddRange(rows.Where(r => r.GetString(LogEntities.Id) is { } id && wanted.Contains(id)));
            }
        }).ConfigureAwait(false);
        return entries;
    }

    private async Task<List<(LoggedCommit Commit, string Attempt)>> ReadCommitsAsync(string partition, long first, long last, long headLast, CancellationToken cancellationToken)
    {
        // Keyed by their last seq: the first commit ending at or after the page's first seq is the one holding it.
        var commits = new List<(LoggedCommit, string)>();
        var rows = _table.QueryAsync<TableEntity>(Range(partition, TableKeys.CommitKey(first), TableKeys.CommitKey(headLast + 1)), maxPerPage: 100, cancellationToken: cancellationToken);
        await foreach (var (main, continuations) in WithContinuationsAsync(rows).ConfigureAwait(false))
        {
            var commit = LogEntities.ReadCommit(main, continuations);
            if (commit.FromSeq > last)
            {
                break;
            }

            commits.Add((commit, main.GetString(LogEntities.Attempt) ?? ""));
        }

        return commits;
    }

    /// <summary>Seqs first…last, each from the row its commit's attempt wrote; null when one is missing.</summary>
    private static List<LoggedUpdate>? PageOf(List<(LoggedCommit Commit, string Attempt)> commits, List<(TableEntity Main, List<TableEntity> Continuations)> rows, long first, long last)
    {
        var updates = new List<LoggedUpdate>((int)(last - first + 1));
        var c = 0;
        foreach (var (main, continuations) in rows)
        {
            var seq = main.GetInt64(LogEntities.Seq) ?? 0;
            while (c < commits.Count && commits[c].Commit.ToSeq < seq)
            {
                c++;
            }

            // Rows of other attempts at these seqs (a racing appender that lost, an abandoned staging) are not the log's.
            if (c < commits.Count && commits[c].Commit.FromSeq <= seq && (main.GetString(LogEntities.Attempt) ?? "") == commits[c].Attempt
                && seq == first + updates.Count)
            {
                updates.Add(LogEntities.ReadUpdate(main, continuations));
            }
        }

        return updates.Count == last - first + 1 ? updates : null;
    }

    private async Task<List<(TableEntity Main, List<TableEntity> Continuations)>> ReadGroupedAsync(string filter, CancellationToken cancellationToken)
    {
        var grouped = new List<(TableEntity, List<TableEntity>)>();
        await foreach (var item in WithContinuationsAsync(_table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, cancellationToken: cancellationToken)).ConfigureAwait(false))
        {
            grouped.Add(item);
        }

        return grouped;
    }

    private static string DocumentRange(string partition) =>
        Range(partition, TableKeys.Document.ToString(), TableKeys.After(TableKeys.Document));

    /// <summary>Main rows with the continuation rows that follow them (stale continuations past a main's count are dropped).</summary>
    private static async IAsyncEnumerable<(TableEntity Main, List<TableEntity> Continuations)> WithContinuationsAsync(IAsyncEnumerable<TableEntity> rows)
    {
        TableEntity? main = null;
        var continuations = new List<TableEntity>();
        await foreach (var row in rows.ConfigureAwait(false))
        {
            if (main is not null && TableKeys.MainKeyOf(row.RowKey) == main.RowKey)
            {
                continuations.Add(row);
                continue;
            }

            if (main is not null)
            {
                yield return (main, Counted(main, continuations));
                continuations = [];
            }

            main = row.RowKey.Contains(TableKeys.ContinuationSeparator, StringComparison.Ordinal) ? null : row;
        }

        if (main is not null)
        {
            yield return (main, Counted(main, continuations));
        }
    }

    private static List<TableEntity> Counted(TableEntity main, List<TableEntity> continuations) =>
        continuations.Count > ChunkedPayload.PartsOf(main) ? continuations[..ChunkedPayload.PartsOf(main)] : continuations;
}
