using System.Security.Cryptography;
using System.Text;

namespace Vivim.Storage.Azure;

/// <summary>
/// PartitionKey and RowKey values for every table Vivim writes itself (the update log, the hosted-DID directory, the
/// peer identities). Table keys may not hold <c>/ \ # ?</c> or control characters and are at most 1,024 characters,
/// while DIDs, paths, update ids and silo names are free text: a key is the lower-case hex of the text's UTF-8 bytes,
/// which keeps the ordinal order that directory pages need (UTF-8 byte order is code point order). One encoding for
/// all tables, so that a key read in one table means the same text in another.
/// </summary>
public static class AzureTableKey
{
    /// <summary>The longest key Table storage accepts, in characters.</summary>
    public const int MaxKeyLength = 1024;

    /// <summary>The longest text a key can hold: two hex digits per UTF-8 byte.</summary>
    public const int MaxTextBytes = MaxKeyLength / 2;

    /// <summary>Past this many UTF-8 bytes <see cref="EncodeOrHash"/> gives a hash: keys that other keys extend stay far below the limit.</summary>
    public const int MaxOrderedBytes = 200;

    /// <summary>Prefix of a hashed key; never a hex digit, so a hash never equals an encoded text.</summary>
    public const char HashedPrefix = '~';

    // Strict: a lone surrogate has no UTF-8 form, and the lenient encoder would give it U+FFFD's, shared by other texts.
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <exception cref="ArgumentException"><paramref name="text"/> is longer than <see cref="MaxTextBytes"/> UTF-8 bytes, or holds a lone surrogate.</exception>
    public static string Encode(string text, string? parameterName = null)
    {
        var bytes = BytesOf(text, parameterName);
        if (bytes.Length > MaxTextBytes)
        {
            throw new ArgumentException($"At most {MaxTextBytes} UTF-8 bytes can be a key in Azure Table storage; this is {bytes.Length}.", parameterName ?? nameof(text));
        }

        return Convert.ToHexStringLower(bytes);
    }

    /// <summary>
    /// As <see cref="Encode"/> up to <see cref="MaxOrderedBytes"/>; a longer text is <see cref="HashedPrefix"/> and its
    /// SHA-256 (its order is lost; where the text itself matters a property of the row holds it).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="text"/> holds a lone surrogate.</exception>
    public static string EncodeOrHash(string text, string? parameterName = null)
    {
        var bytes = BytesOf(text, parameterName);
        return bytes.Length <= MaxOrderedBytes
            ? Convert.ToHexStringLower(bytes)
            : HashedPrefix + Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    public static string Decode(string key) => Encoding.UTF8.GetString(Convert.FromHexString(key));

    private static byte[] BytesOf(string text, string? parameterName)
    {
        ArgumentNullException.ThrowIfNull(text, parameterName ?? nameof(text));
        try
        {
            return Utf8.GetBytes(text);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException("A key's text holds a lone surrogate, which has no UTF-8 form.", parameterName ?? nameof(text), e);
        }
    }
}
