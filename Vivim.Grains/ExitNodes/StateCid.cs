using Vivim.Protocol;

namespace Vivim.ExitNodes;

/// <summary>
/// The advertisement's <c>stateCid</c>. The SDK puts a fake there (<c>"Qm"</c> + hex); we put a real CIDv1 (raw codec,
/// sha2-256, base32 multibase) of the exact <c>JSON.stringify(state)</c> bytes whose SHA-256 is the v1 root, so the CID
/// names the same bytes the root does.
/// </summary>
internal static class StateCid
{
    private const string Base32Alphabet = "abcdefghijklmnopqrstuvwxyz234567";

    public static string FromV1Root(string v1RootHex)
    {
        var digest = Hex.Decode(v1RootHex, 32, "v1 root");
        // CIDv1 = version 1, multicodec raw (0x55), multihash sha2-256 (0x12) of 32 bytes (0x20).
        byte[] cid = [0x01, 0x55, 0x12, 0x20, .. digest];
        return "b" + Base32(cid);
    }

    private static string Base32(ReadOnlySpan<byte> data)
    {
        var text = new System.Text.StringBuilder((data.Length * 8 + 4) / 5);
        int buffer = 0, bits = 0;
        foreach (var b in data)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                bits -= 5;
                text.Append(Base32Alphabet[(buffer >> bits) & 31]);
            }
        }

        if (bits > 0)
        {
            text.Append(Base32Alphabet[(buffer << (5 - bits)) & 31]);
        }

        return text.ToString();
    }
}
