using System.Text;
using Azure;
using Azure.Data.Tables;

namespace Vivim.Storage.Azure;

public sealed partial class AzureTableUpdateLog
{
    public async Task AppendAsync(string did, LogAppend append, CancellationToken cancellationToken = default)
    {
        LogAppendRules.Validate(did, append);
        CheckLimits(append);
        var partition = TableKeys.Partition(did);
        var documents = LogAppendRules.LastPerPath(append.Documents);
        var head = await CurrentHeadAsync(partition, cancellationToken).ConfigureAwait(false);
        var from = append.Commit.FromSeq;
        if (from != head.Last + 1)
        {
            throw Conflict(did, from, head.Last);
        }

        var direct = DirectTransaction(partition, head, append, documents);
        if (direct is not null)
        {
            try
            {
                await _table.SubmitTransactionAsync(direct, cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException e)
            {
                if (await RefusalAsync(did, partition, head, from, e, cancellationToken).ConfigureAwait(false) is { } refusal)
                {
                    throw refusal;
                }

                throw;
            }

            return;
        }

        await AppendStagedAsync(did, partition, head, append, documents, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Refuses, before anything is written, what the table cannot hold.</summary>
    private static void CheckLimits(LogAppend append)
    {
        if (Encoding.UTF8.GetByteCount(append.Commit.Json) > MaxCommitBytes)
        {
            throw new UpdateLogLimitException($"The commit's JSON is larger than the {MaxCommitBytes:N0} bytes Azure Table storage holds in one transaction.");
        }

        foreach (var update in append.Updates)
        {
            if (update.UpdateId.Length > MaxKeyTextLength)
            {
                throw new UpdateLogLimitException($"Update {update.Seq} has an id of {update.UpdateId.Length:N0} characters; at most {MaxKeyTextLength:N0} are stored.");
            }
        }

        foreach (var change in append.Documents)
        {
            if (change.Path.Length > MaxKeyTextLength)
            {
                throw new UpdateLogLimitException($"A document path of {change.Path.Length:N0} characters is longer than the {MaxKeyTextLength:N0} stored.");
            }

            if (change.Json is not null && Encoding.UTF8.GetByteCount(change.Json) is var bytes && bytes > MaxDocumentBytes)
            {
                throw new UpdateLogLimitException($"Document {change.Path} would be {bytes:N0} bytes; Azure Table storage holds documents of at most {MaxDocumentBytes:N0}.");
            }
        }
    }

    /// <summary>The one transaction of a commit that fits it (and a projection that is complete), or null.</summary>
    private static List<TableTransactionAction>? DirectTransaction(string partition, LogHead head, LogAppend append, List<DocumentChange> documents)
    {
        if (head.ProjectionBehind)
        {
            return null;
        }

        var rows = new List<TableEntity>();
        foreach (var update in append.Updates)
        {
            LogEntities.AddUpdate(rows, partition, update, "");
        }

        LogEntities.AddCommit(rows, partition, append.Commit, "");
        foreach (var change in documents)
        {
            LogEntities.AddDocument(rows, partition, change);
        }

        var moved = head with { Last = append.Commit.ToSeq, Projected = append.Commit.ToSeq, Pending = "", Cursor = 0 };
        if (1 + rows.Count + append.Updates.Count > TableTransactions.MaxActions)
        {
            return null;
        }

        var actions = new List<TableTransactionAction>(1 + rows.Count + append.Updates.Count) { moved.WriteOver(head, partition) };
        actions.AddRange(rows.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, r)));

        // Added, not upserted: an update id already in the log fails the transaction, as the databases' unique index does.
        actions.AddRange(append.Updates.Select(u => new TableTransactionAction(TableTransactionActionType.Add, LogEntities.IndexEntry(partition, u, ""))));
        var bytes = actions.Sum(a => TableTransactions.EstimateBytes((TableEntity)a.Entity));
        return bytes <= TableTransactions.MaxBytes ? actions : null;
    }

    /// <summary>
    /// A commit larger than one transaction: its rows are staged under a fresh attempt id (so two racing appenders
    /// never write each other's rows), then one transaction moves the head, writes the commit naming the attempt and
    /// marks the attempt committed. Until then nothing of it is visible; afterwards its projection completes.
    /// </summary>
    private async Task AppendStagedAsync(string did, string partition, LogHead head, LogAppend append, List<DocumentChange> documents, CancellationToken cancellationToken)
    {
        var found = await FindIndexedAsync(partition, head, append.Updates.Select(u => u.UpdateId), cancellationToken).ConfigureAwait(false);
        if (found.Count > 0)
        {
            throw new InvalidOperationException($"Update {found.Keys.First()} is already in the log of {did}.");
        }

        var attempt = Guid.NewGuid().ToString("N");
        var from = append.Commit.FromSeq;
        var marker = new TableEntity(partition, TableKeys.AttemptKey(attempt)) { [LogEntities.From] = from, [nameof(append.Commit.ToSeq)] = append.Commit.ToSeq, ["Committed"] = false };
        var markerETag = (await _table.AddEntityAsync(marker, cancellationToken).ConfigureAwait(false)).Headers.ETag ?? ETag.All;
        try
        {
            var staged = new List<TableEntity>();
            foreach (var update in append.Updates)
            {
                LogEntities.AddUpdate(staged, partition, update, attempt);
            }

            var projected = new List<TableEntity>();
            foreach (var change in documents)
            {
                LogEntities.AddDocument(projected, partition, change);
            }

            projected.AddRange(append.Updates.Select(u => LogEntities.IndexEntry(partition, u, attempt)));
            staged.AddRange(projected.Select((row, i) => LogEntities.Stage(row, TableKeys.StagedKey(attempt, i))));
            var groups = TableTransactions.Group(staged.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, r)));
            await Parallel.ForEachAsync(groups, Parallelism(cancellationToken), async (group, ct) =>
                await _table.SubmitTransactionAsync(group, ct).ConfigureAwait(false)).ConfigureAwait(false);

            var moved = head with { Last = append.Commit.ToSeq, Projected = head.Last, Pending = attempt, Cursor = 0 };
            var commitRows = new List<TableEntity>();
            LogEntities.AddCommit(commitRows, partition, append.Commit, attempt);
            List<TableTransactionAction> commit =
            [
                moved.WriteOver(head, partition),
                .. commitRows.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, r)),

                // Fails if a sweep removed this attempt as abandoned meanwhile: its rows may be gone.
                new TableTransactionAction(TableTransactionActionType.UpdateMerge, new TableEntity(partition, marker.RowKey) { ["Committed"] = true }, markerETag),
            ];
            try
            {
                await _table.SubmitTransactionAsync(commit, cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException e)
            {
                if (await RefusalAsync(did, partition, head, from, e, cancellationToken).ConfigureAwait(false) is { } refusal)
                {
                    throw refusal;
                }

                throw;
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            await AbandonAsync(partition, attempt, from, append.Commit.ToSeq).ConfigureAwait(false);
            throw;
        }

        try
        {
            await CurrentHeadAsync(partition, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RequestFailedException or OperationCanceledException)
        {
            // The commit is durable and acknowledged; the next reader or appender completes its projection.
        }
    }

    /// <summary>
    /// Removes a failed attempt's rows (best effort: what a crash leaves, the retention sweep removes). A commit that
    /// did succeed (an answer lost in transit) is never removed: its marker says so.
    /// </summary>
    private async Task AbandonAsync(string partition, string attempt, long fromSeq, long toSeq)
    {
        try
        {
            var marker = await _table.GetEntityIfExistsAsync<TableEntity>(partition, TableKeys.AttemptKey(attempt)).ConfigureAwait(false);
            if (marker.HasValue && marker.Value!.GetBoolean("Committed") != true)
            {
                await RemoveAttemptAsync(partition, marker.Value, fromSeq, toSeq, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (RequestFailedException)
        {
        }
    }

    /// <summary>An attempt's marker (only if unchanged, so a commit racing this wins), then its staged updates and projection rows.</summary>
    private async Task RemoveAttemptAsync(string partition, TableEntity marker, long fromSeq, long toSeq, CancellationToken cancellationToken)
    {
        await _table.DeleteEntityAsync(partition, marker.RowKey, marker.ETag, cancellationToken).ConfigureAwait(false);
        var attempt = marker.RowKey[1..];
        var rows = await QueryAllAsync(Range(partition, TableKeys.StagedKey(attempt, 0), TableKeys.StagedEnd(attempt)), ["RowKey"], cancellationToken).ConfigureAwait(false);
        var updates = await QueryAllAsync(Range(partition, TableKeys.UpdateKey(fromSeq, ""), TableKeys.UpdateKey(toSeq + 1, "")), ["RowKey"], cancellationToken).ConfigureAwait(false);
        var suffix = "-" + attempt;
        rows.AddRange(updates.Where(r => TableKeys.MainKeyOf(r.RowKey).EndsWith(suffix, StringComparison.Ordinal)));
        await DeleteRowsAsync(partition, [.. rows.Select(r => (r.RowKey, ETag.All))], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What a failed transaction means: a conflict when the head moved, a repeated update id when an index entry existed, else null (rethrow).</summary>
    private async Task<Exception?> RefusalAsync(string did, string partition, LogHead read, long from, RequestFailedException failure, CancellationToken cancellationToken)
    {
        var now = await ReadHeadAsync(partition, cancellationToken).ConfigureAwait(false);
        if (now.Exists != read.Exists || now.ETag != read.ETag)
        {
            return Conflict(did, from, now.Last);
        }

        return failure.Status == 409
            ? new InvalidOperationException($"An update id of the batch at seq {from} is already in the log of {did}.", failure)
            : null;
    }

    private static UpdateLogConflictException Conflict(string did, long from, long last) =>
        new($"Append for {did} starts at seq {from}, the log expects {last + 1}.");
}
