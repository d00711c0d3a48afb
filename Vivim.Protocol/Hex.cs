namespace Vivim.Protocol;

/// <summary>Lowercase hex as the SDK writes keys, hashes and signatures.</summary>
public static class Hex
{
    public static string Encode(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

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
