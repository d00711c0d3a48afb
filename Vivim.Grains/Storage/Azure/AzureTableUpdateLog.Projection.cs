using Azure;
using Azure.Data.Tables;

namespace Vivim.Storage.Azure;

public sealed partial class AzureTableUpdateLog
{
    /// <summary>
    /// Completes the projection of a staged commit: copies its projection rows (documents, index entries) to their
    /// places, in transactions that each move the head's cursor only if the head is unchanged, so a projector that
    /// lost a race writes nothing and resumes from the winner's cursor. The last one moves the watermark.
    /// </summary>
    private async Task<LogHead> ProjectAsync(string partition, LogHead head, CancellationToken cancellationToken)
    {
        while (head.ProjectionBehind)
        {
            head = await ProjectFromCursorAsync(partition, head, cancellationToken).ConfigureAwait(false)
                ?? await ReadHeadAsync(partition, cancellationToken).ConfigureAwait(false);
        }

        return head;
    }

    /// <returns>The head after the projection, or null when another writer moved it first.</returns>
    private async Task<LogHead?> ProjectFromCursorAsync(string partition, LogHead head, CancellationToken cancellationToken)
    {
        var attempt = head.Pending;
        var headBytes = TableTransactions.EstimateBytes(head.ToEntity(partition));
        var group = new List<TableTransactionAction>();
        var bytes = headBytes;
        var cursor = head.Cursor;
        var filter = Range(partition, TableKeys.StagedKey(attempt, head.Cursor), TableKeys.StagedEnd(attempt));
        await foreach (var row in _table.QueryAsync<TableEntity>(filter, maxPerPage: 100, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var target = LogEntities.Unstage(row);
            var cost = TableTransactions.EstimateBytes(target);
            if (group.Count > 0 && (group.Count + 1 >= TableTransactions.MaxActions || bytes + cost > TableTransactions.MaxBytes))
            {
                if (await ProjectStepAsync(partition, head, head with { Cursor = cursor }, group, cancellationToken).ConfigureAwait(false) is not { } moved)
                {
                    return null;
                }

                head = moved;
                group.Clear();
                bytes = headBytes;
            }

            group.Add(new TableTransactionAction(TableTransactionActionType.UpsertReplace, target));
            bytes += cost;
            cursor = StagedItemOf(row.RowKey) + 1;
        }

        var done = await ProjectStepAsync(partition, head, head with { Projected = head.Last, Pending = "", Cursor = 0 }, group, cancellationToken).ConfigureAwait(false);
        if (done is not null)
        {
            try
            {
                var marker = await _table.GetEntityIfExistsAsync<TableEntity>(partition, TableKeys.AttemptKey(attempt), cancellationToken: cancellationToken).ConfigureAwait(false);
                if (marker.HasValue)
                {
                    await RemoveProjectedAttemptAsync(partition, marker.Value!, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (RequestFailedException)
            {
                // Only garbage is left behind: the retention sweep removes it.
            }
        }

        return done;
    }

    private async Task<LogHead?> ProjectStepAsync(string partition, LogHead read, LogHead moved, List<TableTransactionAction> rows, CancellationToken cancellationToken)
    {
        try
        {
            var response = await _table.SubmitTransactionAsync([moved.WriteOver(read, partition), .. rows], cancellationToken).ConfigureAwait(false);
            return response.Value[0].Headers.ETag is { } etag
                ? moved with { ETag = etag }
                : await ReadHeadAsync(partition, cancellationToken).ConfigureAwait(false);
        }
        catch (TableTransactionFailedException e) when (e.Status is 412 or 404 or 409)
        {
            return null;
        }
    }

    /// <summary>A committed, projected attempt's marker and projection rows (its updates are the log's now).</summary>
    private async Task RemoveProjectedAttemptAsync(string partition, TableEntity marker, CancellationToken cancellationToken)
    {
        var attempt = marker.RowKey[1..];
        var rows = await QueryAllAsync(Range(partition, TableKeys.StagedKey(attempt, 0), TableKeys.StagedEnd(attempt)), ["RowKey"], cancellationToken).ConfigureAwait(false);
        await DeleteRowsAsync(partition, [.. rows.Select(r => (r.RowKey, ETag.All)), (marker.RowKey, marker.ETag)], cancellationToken).ConfigureAwait(false);
    }

    private static int StagedItemOf(string rowKey) =>
        int.Parse(rowKey.AsSpan(rowKey.LastIndexOf('.') + 1), System.Globalization.CultureInfo.InvariantCulture);
}
