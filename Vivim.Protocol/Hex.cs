namespace Vivim.Protocol;

/// <summary>Lowercase hex as the SDK writes keys, hashes and signatures.</summary>
public static class Hex
{
    public static string Encode(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    /// <summary>Whether <paramref name="hex"/> is the lowercase hex of <paramref name="bytes"/> (as <see cref="Encode"/> writes it), without building that string.</summary>
    public static bool IsEncodingOf(ReadOnlySpan<byte> bytes, string? hex)
    {
        if (hex is null || hex.Length != bytes.Length * 2)
        {
            return false;
        }

        Span<char> chars = bytes.Length <= 64 ? stackalloc char[128] : new char[bytes.Length * 2];
        return Convert.TryToHexStringLower(bytes, chars, out var written) && hex.AsSpan().SequenceEqual(chars[..written]);
    }

    /// <summary>Decodes hex of exactly <paramref name="expectedBytes"/> bytes (any case); anything else is a <see cref="HexFormatException"/>.</summary>
    public static byte[] Decode(string? hex, int expectedBytes, string what)
    {
        if (hex is null || hex.Length != expectedBytes * 2)
        {
            throw new HexFormatException($"{what} must be {expectedBytes * 2} hex characters, got {hex?.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}.");
        }

        var bytes = new byte[expectedBytes];
        if (Convert.FromHexString(hex, bytes, out _, out _) != System.Buffers.OperationStatus.Done)
        {
            throw new HexFormatException($"{what} is not hexadecimal.");
        }

        return bytes;
    }
}

public sealed class HexFormatException(string message) : ProtocolException("invalid-hex", message);
