using Azure;
using Azure.Data.Tables;

namespace Vivim.Storage.Azure;

/// <summary>
/// A DID's head row as read, with the ETag that every append (and every projection step) must still find:
/// retained seqs <see cref="First"/>…<see cref="Last"/>; documents and the update-id index are projected through
/// <see cref="Projected"/>, and when that is behind, the staged rows of attempt <see cref="Pending"/> are what remains
/// to copy, from item <see cref="Cursor"/> on.
/// </summary>
internal sealed record LogHead(bool Exists, ETag ETag, long First, long Last, long Projected, string Pending, int Cursor)
{
    public static readonly LogHead Missing = new(false, default, 1, 0, 0, "", 0);

    public bool ProjectionBehind => Projected < Last;

    public static LogHead From(TableEntity entity) => new(
        true,
        entity.ETag,
        entity.GetInt64(nameof(First)) ?? 1,
        entity.GetInt64(nameof(Last)) ?? 0,
        entity.GetInt64(nameof(Projected)) ?? 0,
        entity.GetString(nameof(Pending)) ?? "",
        entity.GetInt32(nameof(Cursor)) ?? 0);

    public TableEntity ToEntity(string partition) => new(partition, TableKeys.Head)
    {
        [nameof(First)] = First,
        [nameof(Last)] = Last,
        [nameof(Projected)] = Projected,
        [nameof(Pending)] = Pending,
        [nameof(Cursor)] = Cursor,
    };

    /// <summary>The action that writes this head over <paramref name="read"/>: created when there was none, else only if unchanged since.</summary>
    public TableTransactionAction WriteOver(LogHead read, string partition) => read.Exists
        ? new TableTransactionAction(TableTransactionActionType.UpdateReplace, ToEntity(partition), read.ETag)
        : new TableTransactionAction(TableTransactionActionType.Add, ToEntity(partition));
}
