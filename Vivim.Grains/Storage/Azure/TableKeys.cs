using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Vivim.Storage.Azure;

/// <summary>
/// The keys of the update log's table. A DID is a partition; within it one letter says what a row is: <c>h</c> the
/// head, <c>c{toSeq}</c> a commit, <c>u{seq}</c> (or <c>u{seq}-{attempt}</c> when staged) an update, <c>i{id}</c> an
/// update id's index entry, <c>d{path}</c> a document, <c>s{attempt}.{n}</c> a staged projection row and
/// <c>a{attempt}</c> a staging attempt's marker. A payload too big for one entity continues in rows
/// <c>{key}!{n}</c>, which sort right after their key: '!' is below every character a key holds (letters, digits, <c>~</c>).
/// </summary>
internal static class TableKeys
{
    public const string Head = "h";
    public const char Commit = 'c';
    public const char Update = 'u';
    public const char Index = 'i';
    public const char Document = 'd';
    public const char Staged = 's';
    public const char Attempt = 'a';
    public const char ContinuationSeparator = '!';

    public static string Partition(string did) => Encode(did);

    public static string CommitKey(long toSeq) => Commit + Seq(toSeq);

    public static string UpdateKey(long seq, string attempt) => attempt.Length == 0 ? Update + Seq(seq) : Update + Seq(seq) + "-" + attempt;

    public static string IndexKey(string updateId) => Index + Encode(updateId);

    public static string DocumentKey(string path) => Document + Encode(path);

    public static string StagedKey(string attempt, int item) => Staged + attempt + "." + item.ToString("D6", CultureInfo.InvariantCulture);

    /// <summary>The lower bound of an attempt's staged rows from <paramref name="item"/> on; <see cref="StagedEnd"/> is above them all.</summary>
    public static string StagedEnd(string attempt) => Staged + attempt + "/";

    public static string AttemptKey(string attempt) => Attempt + attempt;

    public static string ContinuationKey(string key, int part) => key + ContinuationSeparator + part.ToString("D3", CultureInfo.InvariantCulture);

    /// <summary>The key a continuation row continues (itself for a main row).</summary>
    public static string MainKeyOf(string rowKey)
    {
        var separator = rowKey.IndexOf(ContinuationSeparator, StringComparison.Ordinal);
        return separator < 0 ? rowKey : rowKey[..separator];
    }

    /// <summary>Fixed width, so that key order is seq order.</summary>
    public static string Seq(long seq) => seq.ToString("D19", CultureInfo.InvariantCulture);

    /// <summary>The first key after every key starting with <paramref name="prefix"/>.</summary>
    public static string After(char prefix) => ((char)(prefix + 1)).ToString();

    /// <summary>Text as a key (<see cref="AzureTableKey.EncodeOrHash"/>): hex digits, or <c>~</c> and a hash for long text.</summary>
    public static string Encode(string text) => AzureTableKey.EncodeOrHash(text);
}
