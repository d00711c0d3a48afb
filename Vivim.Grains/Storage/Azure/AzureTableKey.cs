using System.Text;

namespace Vivim.Storage.Azure;

/// <summary>
/// PartitionKey and RowKey values for Vivim's own tables. Table keys may not hold <c>/ \ # ?</c> or control characters
/// and are at most 1,024 characters, while DIDs, clone ids and nonces are free text: every key is the lower-case hex of
/// its UTF-8 bytes, which keeps the ordinal order that directory pages need (UTF-8 byte order is code point order).
/// </summary>
public static class AzureTableKey
{
    /// <summary>The longest key Table storage accepts, in characters.</summary>
    public const int MaxKeyLength = 1024;

    /// <summary>The longest text a key can hold: two hex digits per UTF-8 byte.</summary>
    public const int MaxTextBytes = MaxKeyLength / 2;

    /// <exception cref="ArgumentException"><paramref name="text"/> is longer than <see cref="MaxTextBytes"/> UTF-8 bytes.</exception>
    public static string Encode(string text, string? parameterName = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var bytes = Encoding.UTF8.GetBytes(text);
        if (bytes.Length > MaxTextBytes)
        {
            throw new ArgumentException($"At most {MaxTextBytes} UTF-8 bytes can be a key in Azure Table storage; this is {bytes.Length}.", parameterName ?? nameof(text));
        }

        return Convert.ToHexStringLower(bytes);
    }

    public static string Decode(string key) => Encoding.UTF8.GetString(Convert.FromHexString(key));
}
