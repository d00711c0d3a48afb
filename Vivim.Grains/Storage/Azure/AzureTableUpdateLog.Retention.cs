using Azure;
using Azure.Data.Tables;

namespace Vivim.Storage.Azure;

public sealed partial class AzureTableUpdateLog
{
    /// <summary>How old an uncommitted staging attempt must be before a sweep takes it for abandoned (its appender crashed).</summary>
    public static readonly TimeSpan AbandonedAfter = TimeSpan.FromHours(1);

    /// <summary>Removes the updates and commits below <paramref name="first"/>, with the index entries that name them.</summary>
    private async Task SweepBelowAsync(string partition, long first, CancellationToken cancellationToken)
    {
        var updates = await QueryAllAsync(Range(partition, TableKeys.Update.ToString(), TableKeys.UpdateKey(first, "")), ["RowKey", LogEntities.Id], cancellationToken).ConfigureAwait(false);
        var commits = await QueryAllAsync(Range(partition, TableKeys.Commit.ToString(), TableKeys.CommitKey(first)), ["RowKey"], cancellationToken).ConfigureAwait(false);
        var ids = updates.Select(u => u.GetString(LogEntities.Id)).OfType<string>();

        // Only the entries that still name a dropped seq: an abandoned attempt's row may carry an id that a later commit holds.
        var index = (await LookUpIndexAsync(partition, ids, cancellationToken).ConfigureAwait(false))
            .Where(e => (e.GetInt64(LogEntities.Seq) ?? 0) < first);
        var rows = updates.Concat(commits).Select(r => (r.RowKey, ETag.All)).Concat(index.Select(e => (e.RowKey, e.ETag))).ToList();
        await DeleteRowsAsync(partition, rows, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Staging attempts left behind: projected ones whose clean-up was interrupted, and uncommitted ones older than
    /// <see cref="AbandonedAfter"/> (removed marker first, only if unchanged, so a late commit of theirs fails instead).
    /// </summary>
    private async Task SweepStaleAttemptsAsync(string partition, LogHead head, CancellationToken cancellationToken)
    {
        var markers = await QueryAllAsync(Range(partition, TableKeys.Attempt.ToString(), TableKeys.After(TableKeys.Attempt)), null, cancellationToken).ConfigureAwait(false);
        foreach (var marker in markers)
        {
            if (marker.RowKey[1..] == head.Pending)
            {
                continue;
            }

            try
            {
                if (marker.GetBoolean("Committed") == true)
                {
                    await RemoveProjectedAttemptAsync(partition, marker, cancellationToken).ConfigureAwait(false);
                }
                else if (marker.Timestamp is { } written && DateTimeOffset.UtcNow - written > AbandonedAfter)
                {
                    await RemoveAttemptAsync(partition, marker, marker.GetInt64(LogEntities.From) ?? 0, marker.GetInt64("ToSeq") ?? 0, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (RequestFailedException e) when (e.Status is 404 or 412)
            {
                // Committed or removed meanwhile: not abandoned after all, or not this sweep's any more.
            }
        }
    }
}
