using System.Text;
using Azure.Data.Tables;

namespace Vivim.Storage.Azure;

/// <summary>The rows of updates, commits, index entries and documents, and their reading back.</summary>
internal static class LogEntities
{
    public const string Seq = nameof(Seq);
    public const string Id = nameof(Id);
    public const string Hash = nameof(Hash);
    public const string Root = nameof(Root);
    public const string Attempt = nameof(Attempt);
    public const string From = nameof(From);
    public const string Path = nameof(Path);
    public const string Value = nameof(Value);
    public const string Size = nameof(Size);
    public const string Target = nameof(Target);

    /// <summary>What a leaf read selects: never the JSON.</summary>
    public static readonly string[] LeafColumns = [Path, Value, Size];

    public static void AddUpdate(List<TableEntity> rows, string partition, LoggedUpdate update, string attempt)
    {
        var main = new TableEntity(partition, TableKeys.UpdateKey(update.Seq, attempt))
        {
            [Seq] = update.Seq,
            [Id] = update.UpdateId,
            [Hash] = LogAppendRules.HashBytesOf(update.UpdateHash),
            [Root] = LogAppendRules.HashBytesOf(update.Root),
            [Attempt] = attempt,
        };
        var continuations = ChunkedPayload.Write(main, Encoding.UTF8.GetBytes(update.Json));
        rows.Add(main);
        rows.AddRange(continuations);
    }

    public static LoggedUpdate ReadUpdate(TableEntity main, IReadOnlyList<TableEntity> continuations) => new(
        main.GetInt64(Seq)!.Value,
        main.GetString(Id),
        LogAppendRules.HashHexOf(main.GetBinary(Hash)),
        LogAppendRules.HashHexOf(main.GetBinary(Root)),
        Encoding.UTF8.GetString(ChunkedPayload.Read(main, continuations)));

    public static void AddCommit(List<TableEntity> rows, string partition, LoggedCommit commit, string attempt)
    {
        var main = new TableEntity(partition, TableKeys.CommitKey(commit.ToSeq))
        {
            [From] = commit.FromSeq,
            [Attempt] = attempt,
        };
        var continuations = ChunkedPayload.Write(main, Encoding.UTF8.GetBytes(commit.Json));
        rows.Add(main);
        rows.AddRange(continuations);
    }

    public static LoggedCommit ReadCommit(TableEntity main, IReadOnlyList<TableEntity> continuations) => new(
        main.GetInt64(From)!.Value,
        long.Parse(main.RowKey.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture),
        Encoding.UTF8.GetString(ChunkedPayload.Read(main, continuations)));

    public static TableEntity IndexEntry(string partition, LoggedUpdate update, string attempt) => new(partition, TableKeys.IndexKey(update.UpdateId))
    {
        [Id] = update.UpdateId,
        [Seq] = update.Seq,
        [Attempt] = attempt,
    };

    /// <summary>
    /// A document's rows; a deleted one is a row without a value (a tombstone), so that writing it never depends on
    /// whether the document existed (a transaction's delete of a missing row fails the whole transaction).
    /// </summary>
    public static void AddDocument(List<TableEntity> rows, string partition, DocumentChange change)
    {
        var main = new TableEntity(partition, TableKeys.DocumentKey(change.Path))
        {
            [Path] = change.Path,
            [Seq] = change.Seq,
        };
        rows.Add(main);
        if (change.Json is null)
        {
            return;
        }

        var json = Encoding.UTF8.GetBytes(change.Json);
        main[Value] = change.Value;
        main[Size] = json.Length;
        rows.AddRange(ChunkedPayload.Write(main, json));
    }

    public static bool IsTombstone(TableEntity main) => main.GetBinary(Value) is null;

    public static StoredDocument ReadDocument(TableEntity main, IReadOnlyList<TableEntity> continuations) => new(
        main.GetString(Path),
        Encoding.UTF8.GetString(ChunkedPayload.Read(main, continuations)),
        main.GetBinary(Value),
        main.GetInt64(Seq)!.Value);

    /// <summary>A projection row: <paramref name="target"/> parked under a staging key until its commit is projected.</summary>
    public static TableEntity Stage(TableEntity target, string stagedKey)
    {
        var staged = new TableEntity(target.PartitionKey, stagedKey) { [Target] = target.RowKey };
        foreach (var (name, value) in target)
        {
            if (IsData(name))
            {
                staged[name] = value;
            }
        }

        return staged;
    }

    /// <summary>The row a projection row stands for.</summary>
    public static TableEntity Unstage(TableEntity staged)
    {
        var target = new TableEntity(staged.PartitionKey, staged.GetString(Target));
        foreach (var (name, value) in staged)
        {
            if (IsData(name) && name != Target)
            {
                target[name] = value;
            }
        }

        return target;
    }

    private static bool IsData(string name) =>
        name is not ("PartitionKey" or "RowKey" or "Timestamp" or "odata.etag") && !name.EndsWith("@odata.type", StringComparison.Ordinal);
}
