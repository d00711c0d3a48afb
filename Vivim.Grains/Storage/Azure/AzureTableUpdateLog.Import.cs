using Azure;
using Azure.Data.Tables;

namespace Vivim.Storage.Azure;

public sealed partial class AzureTableUpdateLog : IUpdateLogImport
{
    public async Task ImportAsync(string did, LogSegment segment, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(segment);
        segment.Validate(Checked(did));
        var partition = TableKeys.Partition(did);
        var head = await ReadHeadAsync(partition, cancellationToken).ConfigureAwait(false);
        if (head.Exists)
        {
            throw new UpdateLogConflictException($"The log of {did} already exists here (seqs {head.First}..{head.Last}).");
        }

        // Rows without a head are what an interrupted import left: never visible, removed so the copy is exact.
        await DeleteAsync(did, cancellationToken).ConfigureAwait(false);

        var rows = new List<TableEntity>();
        foreach (var update in segment.Updates)
        {
            LogEntities.AddUpdate(rows, partition, update, "");
            rows.Add(LogEntities.IndexEntry(partition, update, ""));
        }

        foreach (var commit in segment.Commits)
        {
            LogEntities.AddCommit(rows, partition, commit, "");
        }

        foreach (var document in segment.Documents)
        {
            LogEntities.AddDocument(rows, partition, new DocumentChange(document.Path, document.Json, document.Value, document.Seq));
        }

        var groups = TableTransactions.Group(rows.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, r)));
        await Parallel.ForEachAsync(groups, Parallelism(cancellationToken), async (group, ct) =>
            await _table.SubmitTransactionAsync(group, ct).ConfigureAwait(false)).ConfigureAwait(false);

        // The head last, added (not upserted): the log appears whole, and a log written meanwhile is never replaced.
        var last = segment.Bounds.LastSeq;
        var imported = LogHead.Missing with { First = segment.Bounds.FirstRetainedSeq, Last = last, Projected = last };
        try
        {
            await _table.AddEntityAsync(imported.ToEntity(partition), cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            throw new UpdateLogConflictException($"The log of {did} was created here while it was imported.");
        }
    }
}
