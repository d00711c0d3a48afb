using System.Security.Cryptography;
using Vivim.Protocol.Merkle;

namespace Vivim.Tests.Protocol;

/// <summary>
/// A deliberately naive implementation of the tree definition (recursion over every bit level, no compaction
/// tricks), used as the oracle for the real tree.
/// </summary>
internal static class MerkleReference
{
    public static byte[] Empty => SHA256.HashData(new byte[] { 0x00 });

    public static byte[] Leaf(byte[] key, byte[] value) => SHA256.HashData([0x01, .. key, .. value]);

    public static byte[] Node(byte[] left, byte[] right) => SHA256.HashData([0x02, .. left, .. right]);

    public static int Bit(byte[] key, int i) => (key[i >> 3] >> (7 - (i & 7))) & 1;

    public static byte[] Root(IReadOnlyCollection<KeyValuePair<byte[], byte[]>> entries) => Subtree([.. entries], 0);

    private static byte[] Subtree(List<KeyValuePair<byte[], byte[]>> entries, int depth)
    {
        if (entries.Count == 0)
        {
            return Empty;
        }

        if (entries.Count == 1)
        {
            return Leaf(entries[0].Key, entries[0].Value);
        }

        var zeros = entries.Where(e => Bit(e.Key, depth) == 0).ToList();
        var ones = entries.Where(e => Bit(e.Key, depth) == 1).ToList();
        return Node(Subtree(zeros, depth + 1), Subtree(ones, depth + 1));
    }

    /// <summary>A key equal to <paramref name="prefixSource"/> on its first <paramref name="shared"/> bits, then differing at bit <paramref name="shared"/>.</summary>
    public static byte[] Diverging(byte[] prefixSource, int shared, byte fill)
    {
        var key = new byte[32];
        for (int i = 0; i < 256; i++)
        {
            int bit = i < shared ? Bit(prefixSource, i) : i == shared ? 1 - Bit(prefixSource, i) : (fill >> (i & 7)) & 1;
            key[i >> 3] |= (byte)(bit << (7 - (i & 7)));
        }

        return key;
    }

    public static byte[] Hex(string hex) => Convert.FromHexString(hex);

    public static SparseMerkleTree TreeOf(params byte[][] keys)
    {
        var tree = new SparseMerkleTree();
        foreach (var k in keys)
        {
            tree.Set(k, ValueFor(k));
        }

        return tree;
    }

    public static byte[] ValueFor(byte[] key) => SHA256.HashData([0xAA, .. key]);
}
