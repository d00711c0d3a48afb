using System.Buffers;

namespace Vivim.Storage;

/// <summary>
/// What every update log checks before writing anything, so that the stored log keeps its invariants (seqs
/// gapless, each commit covering exactly the updates of its batch) whatever the caller, and all logs agree.
/// </summary>
internal static class LogAppendRules
{
    public const int HashBytes = 32;

    private static readonly SearchValues<char> LowerHex = SearchValues.Create("0123456789abcdef");

    public static void Validate(string did, LogAppend append)
    {
        ArgumentException.ThrowIfNullOrEmpty(did);
        ArgumentNullException.ThrowIfNull(append);
        ArgumentNullException.ThrowIfNull(append.Updates);
        ArgumentNullException.ThrowIfNull(append.Commit);
        ArgumentNullException.ThrowIfNull(append.Documents);
        var updates = append.Updates;
        if (updates.Count == 0)
        {
            throw new ArgumentException("An append holds at least one update.", nameof(append));
        }

        var first = updates[0].Seq;
        var last = first + updates.Count - 1;
        if (first < 1)
        {
            throw new ArgumentException($"Seqs start at 1, not {first}.", nameof(append));
        }

        var ids = new HashSet<string>(updates.Count, StringComparer.Ordinal);
        for (var i = 0; i < updates.Count; i++)
        {
            var update = updates[i];
            if (update.Seq != first + i)
            {
                throw new ArgumentException($"The updates' seqs are not consecutive at {update.Seq}.", nameof(append));
            }

            if (string.IsNullOrEmpty(update.UpdateId) || !ids.Add(update.UpdateId))
            {
                throw new ArgumentException($"Update {update.Seq} has an empty or repeated updateId.", nameof(append));
            }

            CheckHash(update.UpdateHash, nameof(LoggedUpdate.UpdateHash));
            CheckHash(update.Root, nameof(LoggedUpdate.Root));
            ArgumentNullException.ThrowIfNull(update.Json);
        }

        if (append.Commit.FromSeq != first || append.Commit.ToSeq != last)
        {
            throw new ArgumentException($"The commit covers {append.Commit.FromSeq}..{append.Commit.ToSeq}, the updates {first}..{last}.", nameof(append));
        }

        ArgumentNullException.ThrowIfNull(append.Commit.Json);
        foreach (var change in append.Documents)
        {
            ArgumentException.ThrowIfNullOrEmpty(change.Path);
            if (change.Seq < first || change.Seq > last)
            {
                throw new ArgumentException($"Document {change.Path} changed at seq {change.Seq}, outside the batch.", nameof(append));
            }

            if ((change.Json is null) != (change.Value is null) || change.Value is { Length: not HashBytes })
            {
                throw new ArgumentException($"Document {change.Path} needs both JSON and a {HashBytes}-byte value, or neither (deleted).", nameof(append));
            }
        }
    }

    /// <summary>Each path's final change (a batch may write one document several times): what the documents table holds afterwards.</summary>
    public static List<DocumentChange> LastPerPath(IReadOnlyList<DocumentChange> changes)
    {
        if (changes.Count < 2)
        {
            return [.. changes];
        }

        var last = new Dictionary<string, int>(changes.Count, StringComparer.Ordinal);
        for (var i = 0; i < changes.Count; i++)
        {
            last[changes[i].Path] = i;
        }

        var result = new List<DocumentChange>(last.Count);
        for (var i = 0; i < changes.Count; i++)
        {
            if (last[changes[i].Path] == i)
            {
                result.Add(changes[i]);
            }
        }

        return result;
    }

    /// <summary>The 32 bytes of a hash given as 64 lowercase hex digits (the form the records carry, kept exact).</summary>
    public static byte[] HashBytesOf(string hex) => Convert.FromHexString(hex);

    public static string HashHexOf(byte[] bytes) => Convert.ToHexStringLower(bytes);

    private static void CheckHash(string hex, string name)
    {
        if (hex is null || hex.Length != HashBytes * 2 || hex.AsSpan().ContainsAnyExcept(LowerHex))
        {
            throw new ArgumentException($"{name} must be {HashBytes * 2} lowercase hex digits.", name);
        }
    }
}
