namespace Vivim.Protocol.Merkle;

/// <summary>
/// Base64url without padding (RFC 4648 §5), strict: no padding, no whitespace, no other alphabet, and the unused
/// low bits of the last character must be zero, so each byte string has exactly one accepted text form.
/// </summary>
internal static class StrictBase64Url
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    public static string Encode(ReadOnlySpan<byte> data) =>
        string.Create(EncodedLength(data.Length), data.ToArray(), static (chars, bytes) => Encode(bytes, chars));

    /// <summary>The length of the text form of <paramref name="byteCount"/> bytes.</summary>
    public static int EncodedLength(int byteCount) => (byteCount * 4 + 2) / 3;

    /// <summary>Writes the text form of <paramref name="bytes"/> into <paramref name="chars"/> (<see cref="EncodedLength"/> long).</summary>
    public static void Encode(ReadOnlySpan<byte> bytes, Span<char> chars)
    {
        int o = 0;
        int i = 0;
        for (; i + 3 <= bytes.Length; i += 3)
        {
            int v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
            chars[o++] = Alphabet[v >> 18];
            chars[o++] = Alphabet[(v >> 12) & 63];
            chars[o++] = Alphabet[(v >> 6) & 63];
            chars[o++] = Alphabet[v & 63];
        }

        int rest = bytes.Length - i;
        if (rest == 1)
        {
            int v = bytes[i] << 16;
            chars[o++] = Alphabet[v >> 18];
            chars[o] = Alphabet[(v >> 12) & 63];
        }
        else if (rest == 2)
        {
            int v = (bytes[i] << 16) | (bytes[i + 1] << 8);
            chars[o++] = Alphabet[v >> 18];
            chars[o++] = Alphabet[(v >> 12) & 63];
            chars[o] = Alphabet[(v >> 6) & 63];
        }
    }

    /// <summary>Decodes <paramref name="text"/>, or returns null when it is not canonical base64url.</summary>
    public static byte[]? TryDecode(ReadOnlySpan<char> text)
    {
        if (text.Length % 4 == 1)
        {
            return null;
        }

        var output = new byte[text.Length * 3 / 4];
        int o = 0;
        int i = 0;
        for (; i + 4 <= text.Length; i += 4)
        {
            int v = (Value(text[i]) << 18) | (Value(text[i + 1]) << 12) | (Value(text[i + 2]) << 6) | Value(text[i + 3]);
            if (v < 0)
            {
                return null;
            }

            output[o++] = (byte)(v >> 16);
            output[o++] = (byte)(v >> 8);
            output[o++] = (byte)v;
        }

        int rest = text.Length - i;
        if (rest == 2)
        {
            int a = Value(text[i]);
            int b = Value(text[i + 1]);
            if ((a | b) < 0 || (b & 0x0F) != 0)
            {
                return null;
            }

            output[o] = (byte)((a << 2) | (b >> 4));
        }
        else if (rest == 3)
        {
            int a = Value(text[i]);
            int b = Value(text[i + 1]);
            int c = Value(text[i + 2]);
            if ((a | b | c) < 0 || (c & 0x03) != 0)
            {
                return null;
            }

            output[o++] = (byte)((a << 2) | (b >> 4));
            output[o] = (byte)((b << 4) | (c >> 2));
        }

        return output;
    }

    // -1 for characters outside the alphabet: all-ones keeps the result negative through the shifts and ORs.
    private static int Value(char c) => c switch
    {
        >= 'A' and <= 'Z' => c - 'A',
        >= 'a' and <= 'z' => c - 'a' + 26,
        >= '0' and <= '9' => c - '0' + 52,
        '-' => 62,
        '_' => 63,
        _ => -1,
    };
}
