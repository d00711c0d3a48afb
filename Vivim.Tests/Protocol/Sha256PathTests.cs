using System.Security.Cryptography;
using Vivim.Protocol;
using Vivim.Protocol.Merkle;

namespace Vivim.Tests.Protocol;

/// <summary>
/// The faster SHA-256 paths (libcrypto's low-level functions, libsodium for short inputs) give the platform's hash
/// for every length around the block and padding boundaries, so no tree root, key or update hash can change.
/// </summary>
public class Sha256PathTests
{
    [Fact]
    public void Libcrypto_is_used_on_linux()
    {
        // Without it the tree silently falls back to the slower paths; this machine and the service's image have it.
        Assert.Equal(OperatingSystem.IsLinux(), LibcryptoSha256.IsAvailable);
    }

    [Fact]
    public void Every_path_agrees_with_the_platform_for_lengths_around_each_boundary()
    {
        var random = new Random(19);
        var lengths = Enumerable.Range(0, 260).Concat([511, 512, 513, 1000, 4096, ShortSha256.MaxLibcryptoLength, ShortSha256.MaxLibcryptoLength + 1, 200_000]);
        var actual = new byte[32];
        foreach (var length in lengths)
        {
            var input = new byte[length];
            random.NextBytes(input);
            var expected = SHA256.HashData(input);

            ShortSha256.Hash(input, actual);
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"ShortSha256 differs at {length} bytes");
            Assert.Equal(expected, ShortSha256.Hash(input));
            if (LibcryptoSha256.IsAvailable)
            {
                Array.Clear(actual);
                LibcryptoSha256.Hash(input, actual);
                Assert.True(expected.AsSpan().SequenceEqual(actual), $"libcrypto differs at {length} bytes");
            }
        }
    }

    [Fact]
    public void Tree_hashes_agree_with_the_platform_including_in_place_output()
    {
        var random = new Random(7);
        var a = new byte[32];
        var b = new byte[32];
        for (var i = 0; i < 200; i++)
        {
            random.NextBytes(a);
            random.NextBytes(b);
            var expectedLeaf = SHA256.HashData([MerkleHashes.LeafTag, .. a, .. b]);
            var expectedNode = SHA256.HashData([MerkleHashes.NodeTag, .. a, .. b]);
            var leaf = new byte[32];
            MerkleHashes.Leaf(a, b, leaf);
            Assert.Equal(expectedLeaf, leaf);

            // The tree hashes a node into one of its own inputs.
            var inPlace = (byte[])a.Clone();
            MerkleHashes.Node(inPlace, b, inPlace);
            Assert.Equal(expectedNode, inPlace);
        }
    }

    [Fact]
    public void Hashes_agree_when_computed_on_many_threads_at_once()
    {
        // Each thread keeps its own context: concurrent calls must not mix their states.
        var inputs = Enumerable.Range(0, 64).Select(i => Enumerable.Range(0, 40 + i * 13).Select(j => (byte)(i ^ j)).ToArray()).ToArray();
        var expected = inputs.Select(SHA256.HashData).ToArray();
        Parallel.For(0, 20_000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, n =>
        {
            var i = n % inputs.Length;
            Assert.Equal(expected[i], ShortSha256.Hash(inputs[i]));
        });
    }
}
