using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Vivim.Storage.Azure;

/// <summary>
/// The keys of the update log's table. A DID is a partition; within it one letter says what a row is: <c>h</c> the
/// head, <c>c{toSeq}</c> a commit, <c>u{seq}</c> (or <c>u{seq}-{attempt}</c> when staged) an update, <c>i{id}</c> an
/// update id's index entry, <c>d{path}</c> a document, <c>s{attempt}.{n}</c> a staged projection row and
/// <c>a{attempt}</c> a staging attempt's marker. A payload too big for one entity continues in rows
/// <c>{key}!{n}</c>, which sort right after their key: '!' is below every character a key holds.
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

    // Past this an encoded text is replaced by its hash: keys stay far below Azure's 1 KiB.
    private const int MaxEncodedLength = 400;

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

    /// <summary>
    /// Text as a key: letters, digits and <c>- . : @</c> stay, every other UTF-8 byte becomes <c>=XX</c>, so keys never
    /// hold <c>/ \ # ?</c>, control characters, quotes or the continuation separator; a long result is a hash.
    /// </summary>
    public static string Encode(string text)
    {
        var encoded = new StringBuilder(text.Length + 8);
        Span<byte> bytes = stackalloc byte[4];
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or ':' or '@')
            {
                encoded.Append(c);
                continue;
            }

            if (char.IsSurrogate(c) && !(char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])))
            {
                // A lone surrogate has no UTF-8 form of its own: keep it distinct from every other text.
                encoded.Append("=u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
                continue;
            }

            var length = char.IsHighSurrogate(c)
                ? Encoding.UTF8.GetBytes(text.AsSpan(i++, 2), bytes)
                : Encoding.UTF8.GetBytes(text.AsSpan(i, 1), bytes);
            for (var b = 0; b < length; b++)
            {
                encoded.Append('=').Append(bytes[b].ToString("X2", CultureInfo.InvariantCulture));
            }

            if (encoded.Length > MaxEncodedLength)
            {
                break;
            }
        }

        return encoded.Length <= MaxEncodedLength
            ? encoded.ToString()
            : "~" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }
}
