using System.Security.Cryptography;
using System.Text;
using Vivim.Protocol;
using Vivim.Protocol.Merkle;
using static Vivim.Tests.Protocol.MerkleReference;

namespace Vivim.Tests.Protocol;

public class MerkleTreeTests
{
    private static readonly byte[] KeyZero = new byte[32];
    private static readonly byte[] KeyTop = Hex("80" + new string('0', 62));

    [Fact]
    public void Empty_is_sha256_of_zero_byte_and_is_the_empty_tree_root()
    {
        var tree = new SparseMerkleTree();
        Assert.Equal("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", Convert.ToHexStringLower(MerkleHashes.Empty));
        Assert.Equal(MerkleHashes.Empty, tree.Root);
        Assert.Equal(0, tree.Count);
    }

    [Fact]
    public void Hash_functions_use_the_domain_tags()
    {
        var k = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var v = Enumerable.Range(100, 32).Select(i => (byte)i).ToArray();
        var leaf = new byte[32];
        var node = new byte[32];
        MerkleHashes.Leaf(k, v, leaf);
        MerkleHashes.Node(k, v, node);
        Assert.Equal(SHA256.HashData([0x01, .. k, .. v]), leaf);
        Assert.Equal(SHA256.HashData([0x02, .. k, .. v]), node);
    }

    [Fact]
    public void One_key_root_is_its_leaf_hash()
    {
        var tree = TreeOf(KeyTop);
        Assert.Equal(Leaf(KeyTop, ValueFor(KeyTop)), tree.Root.ToArray());
        Assert.Equal(1, tree.Count);
    }

    [Fact]
    public void Two_keys_differing_at_bit_0_hang_directly_under_the_root()
    {
        var tree = TreeOf(KeyTop, KeyZero);
        var expected = Node(Leaf(KeyZero, ValueFor(KeyZero)), Leaf(KeyTop, ValueFor(KeyTop)));
        Assert.Equal(expected, tree.Root.ToArray());
    }

    [Fact]
    public void Three_keys_make_one_inner_node_on_the_left()
    {
        var b = Hex("40" + new string('0', 62));
        var tree = TreeOf(KeyTop, b, KeyZero);
        var expected = Node(
            Node(Leaf(KeyZero, ValueFor(KeyZero)), Leaf(b, ValueFor(b))),
            Leaf(KeyTop, ValueFor(KeyTop)));
        Assert.Equal(expected, tree.Root.ToArray());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(200)]
    [InlineData(255)]
    public void Keys_sharing_a_long_prefix_get_one_node_per_shared_level(int shared)
    {
        var a = Hex("a5" + string.Concat(Enumerable.Repeat("c3", 31)));
        var b = Diverging(a, shared, 0x5A);
        var tree = TreeOf(a, b);
        var h = Bit(a, shared) == 0
            ? Node(Leaf(a, ValueFor(a)), Leaf(b, ValueFor(b)))
            : Node(Leaf(b, ValueFor(b)), Leaf(a, ValueFor(a)));
        for (int i = shared - 1; i >= 0; i--)
        {
            h = Bit(a, i) == 0 ? Node(h, Empty) : Node(Empty, h);
        }

        Assert.Equal(h, tree.Root.ToArray());

        // A third key splitting the shared run in the middle must re-fold both halves.
        var c = Diverging(a, shared / 2, 0x0F);
        tree.Set(c, ValueFor(c));
        Assert.Equal(Root([new(a, ValueFor(a)), new(b, ValueFor(b)), new(c, ValueFor(c))]), tree.Root.ToArray());
        Assert.True(tree.Remove(c));
        Assert.Equal(h, tree.Root.ToArray());
    }

    [Fact]
    public void Inclusion_proof_bytes_for_two_keys_are_exact()
    {
        var tree = TreeOf(KeyTop, KeyZero);
        var proof = tree.GetProof(KeyZero);
        byte[] expected = [0x01, 0x00, 0x00, 0x01, 0x80, .. Leaf(KeyTop, ValueFor(KeyTop))];
        Assert.Equal(expected, proof.Encode());
        Assert.True(proof.VerifyInclusion(tree.Root, KeyZero, ValueFor(KeyZero)));
        Assert.False(proof.VerifyNonInclusion(tree.Root, KeyZero));
    }

    [Fact]
    public void Single_key_tree_proofs_have_depth_zero()
    {
        var tree = TreeOf(KeyTop);
        Assert.Equal([0x01, 0x00, 0x00, 0x00], tree.GetProof(KeyTop).Encode());
        var absent = tree.GetProof(KeyZero);
        Assert.Equal([0x01, 0x02, .. KeyTop, .. ValueFor(KeyTop), 0x00, 0x00], absent.Encode());
        Assert.True(absent.VerifyNonInclusion(tree.Root, KeyZero));
        Assert.Equal([0x01, 0x01, 0x00, 0x00], new SparseMerkleTree().GetProof(KeyZero).Encode());
        Assert.True(new SparseMerkleTree().GetProof(KeyZero).VerifyNonInclusion(MerkleHashes.Empty, KeyZero));
    }

    [Fact]
    public void Non_inclusion_ending_in_another_leaf()
    {
        var tree = TreeOf(KeyTop, KeyZero);
        var probe = Hex("01" + new string('0', 62)); // shares bit 0 with KeyZero
        var proof = tree.GetProof(probe);
        Assert.Equal(MerkleProofKind.NonInclusionLeaf, proof.Kind);
        Assert.Equal(1, proof.Depth);
        Assert.Equal(KeyZero, proof.OtherKey.ToArray());
        Assert.Equal(ValueFor(KeyZero), proof.OtherValue.ToArray());
        Assert.True(proof.VerifyNonInclusion(tree.Root, probe));

        // The same leaf says nothing about a key off its path, nor about itself.
        Assert.False(proof.VerifyNonInclusion(tree.Root, KeyTop));
        Assert.False(proof.VerifyNonInclusion(tree.Root, KeyZero));
    }

    [Fact]
    public void Non_inclusion_ending_in_an_empty_subtree_below_a_long_shared_prefix()
    {
        var a = Hex(string.Concat(Enumerable.Repeat("3c", 32)));
        var b = Diverging(a, 150, 0x11);
        var probe = Diverging(a, 100, 0x22);
        var tree = TreeOf(a, b);
        var proof = tree.GetProof(probe);
        Assert.Equal(MerkleProofKind.NonInclusionEmpty, proof.Kind);
        Assert.Equal(101, proof.Depth);
        for (int i = 0; i < 100; i++)
        {
            Assert.True(proof.IsSiblingEmpty(i));
        }

        // The sibling at depth 100 is the {a, b} subtree seen from prefix length 101.
        var h = Bit(a, 150) == 0
            ? Node(Leaf(a, ValueFor(a)), Leaf(b, ValueFor(b)))
            : Node(Leaf(b, ValueFor(b)), Leaf(a, ValueFor(a)));
        for (int i = 149; i >= 101; i--)
        {
            h = Bit(a, i) == 0 ? Node(h, Empty) : Node(Empty, h);
        }

        Assert.Equal(h, proof.GetSibling(100).ToArray());
        Assert.Equal(2 + 2 + 13 + 32, proof.Encode().Length);
        Assert.True(proof.VerifyNonInclusion(tree.Root, probe));
        Assert.True(tree.GetProof(a).VerifyInclusion(tree.Root, a, ValueFor(a)));
        Assert.Equal(151, tree.GetProof(a).Depth);
    }

    [Fact]
    public void Wrong_claims_are_false_not_exceptions()
    {
        var tree = TreeOf(KeyTop, KeyZero);
        var proof = tree.GetProof(KeyZero);
        Assert.False(proof.VerifyInclusion(tree.Root, KeyZero, ValueFor(KeyTop)));
        Assert.False(proof.VerifyInclusion(MerkleHashes.Empty, KeyZero, ValueFor(KeyZero)));
        Assert.False(proof.Verify(tree.Root, KeyZero, null));
        var absent = tree.GetProof(Hex("01" + new string('0', 62)));
        Assert.False(absent.VerifyInclusion(tree.Root, KeyZero, ValueFor(KeyZero)));
    }

    [Fact]
    public void Path_overloads_hash_the_utf8_path()
    {
        const string path = "memoryIndex/notes/42";
        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(path)), MerkleHashes.KeyOf(path));
        var value = SHA256.HashData("{}"u8);
        var byPath = new SparseMerkleTree();
        Assert.True(byPath.Set(path, value));
        Assert.False(byPath.Set(path, value));
        var byKey = new SparseMerkleTree();
        byKey.Set(MerkleHashes.KeyOf(path), value);
        Assert.Equal(byKey.Root, byPath.Root);
        Assert.True(byPath.TryGetValue(path, out var got));
        Assert.Equal(value, got);
        var proof = byPath.GetProof(path);
        Assert.True(MerkleVerifier.Verify(byPath.RootHex, path, value, proof.ToBase64Url()));
        Assert.True(MerkleVerifier.Verify(byPath.RootHex, "identity/self", null, byPath.GetProof("identity/self").ToBase64Url()));
        Assert.True(byPath.Remove(path));
        Assert.False(byPath.Remove(path));
        Assert.False(byPath.TryGetValue(path, out _));
        Assert.Equal(MerkleHashes.Empty, byPath.Root);
    }

    [Fact]
    public void Update_and_remove_maintain_count_and_values()
    {
        var tree = TreeOf(KeyTop, KeyZero);
        var newValue = new byte[32];
        newValue[5] = 7;
        Assert.False(tree.Set(KeyTop, newValue));
        Assert.Equal(2, tree.Count);
        Span<byte> read = stackalloc byte[32];
        Assert.True(tree.TryGetValue(KeyTop, read));
        Assert.Equal(newValue, read.ToArray());
        Assert.Equal(Node(Leaf(KeyZero, ValueFor(KeyZero)), Leaf(KeyTop, newValue)), tree.Root.ToArray());
        Assert.False(tree.Remove(Hex("01" + new string('0', 62))));
        Assert.True(tree.Remove(KeyTop));
        Assert.Equal(1, tree.Count);
        Assert.Equal(Leaf(KeyZero, ValueFor(KeyZero)), tree.Root.ToArray());
        Assert.False(tree.ContainsKey(KeyTop));
        Assert.True(tree.ContainsKey(KeyZero));
    }

    [Fact]
    public void Large_bulk_build_uses_the_parallel_path_and_matches_incremental_inserts()
    {
        const int n = 40_000;
        var random = new Random(7);
        var keys = new byte[n * 32];
        var values = new byte[n * 32];
        random.NextBytes(keys);
        random.NextBytes(values);
        var built = SparseMerkleTree.Build(keys, values);
        var incremental = new SparseMerkleTree();
        for (int i = n - 1; i >= 0; i--)
        {
            incremental.Set(keys.AsSpan(i * 32, 32), values.AsSpan(i * 32, 32));
        }

        Assert.Equal(n, built.Count);
        Assert.Equal(incremental.GetRoot(), built.GetRoot());
        for (int i = 0; i < n; i += 997)
        {
            var key = keys.AsSpan(i * 32, 32);
            Assert.True(built.GetProof(key).VerifyInclusion(built.Root, key, values.AsSpan(i * 32, 32)));
            Assert.True(built.Remove(key));
            Assert.True(incremental.Remove(key));
        }

        Assert.Equal(incremental.GetRoot(), built.GetRoot());
    }

    [Fact]
    public void Bulk_build_rejects_duplicate_keys_and_bad_lengths()
    {
        Assert.Throws<ArgumentException>(() => SparseMerkleTree.Build([new(KeyTop, KeyTop), new(KeyTop, KeyZero)]));
        Assert.Throws<ArgumentException>(() => SparseMerkleTree.Build(new byte[64], new byte[32]));
        Assert.Throws<ArgumentException>(() => new SparseMerkleTree().Set(new byte[31], new byte[32]));
    }

    [Fact]
    public void Format_errors_are_typed_with_a_stable_code()
    {
        var tree = TreeOf(KeyTop, KeyZero);
        byte[] good = tree.GetProof(KeyZero).Encode(); // 01 00 0001 80 <32>
        MerkleProof.Decode(good);

        void Bad(byte[] bytes)
        {
            var e = Assert.Throws<MerkleProofFormatException>(() => MerkleProof.Decode(bytes));
            Assert.Equal("invalid-merkle-proof", e.Code);
            Assert.IsAssignableFrom<ProtocolException>(e);
        }

        Bad([]);
        Bad([0x01, 0x00, 0x00]);
        Bad([0x02, .. good[1..]]);                               // version
        Bad([0x01, 0x03, .. good[2..]]);                         // kind
        Bad([0x01, 0x01, 0x01, 0x01, .. new byte[33]]);          // n = 257
        Bad([.. good[..4], 0xC0, .. good[5..]]);                 // unused bitmap bit
        Bad([.. good, 0x00]);                                    // trailing byte
        Bad(good[..^1]);                                         // truncated sibling
        Bad([0x01, 0x00, 0x00, 0x02, 0x80, .. new byte[32]]);    // kind 0 with empty deepest sibling
        Bad([0x01, 0x02, .. new byte[64], 0x00, 0x01, 0x00]);    // kind 2 with empty deepest sibling
        Bad([0x01, 0x02, .. new byte[10]]);                      // kind 2 truncated in the other leaf
        MerkleProof.Decode([0x01, 0x01, 0x00, 0x02, 0x80, .. new byte[32]]); // kind 1 may end beside EMPTY

        string text = MerkleProof.Decode(good).ToBase64Url();
        Assert.Equal(good, MerkleProof.FromBase64Url(text).Encode());
        Assert.Throws<MerkleProofFormatException>(() => MerkleProof.FromBase64Url(text + "="));
        Assert.Throws<MerkleProofFormatException>(() => MerkleProof.FromBase64Url("+" + text[1..]));
        Assert.Throws<MerkleProofFormatException>(() => MerkleProof.FromBase64Url(" " + text));
        Assert.Throws<MerkleProofFormatException>(() => MerkleProof.FromBase64Url(text + "A"));
        Assert.Throws<MerkleProofFormatException>(() => MerkleProof.FromBase64Url(new string('A', 20000)));
        Assert.Throws<MerkleProofFormatException>(() => MerkleVerifier.Verify(tree.Root, KeyZero, null, "!!"));
    }

    [Fact]
    public void Base64url_rejects_non_zero_unused_trailing_bits()
    {
        // [0x01, 0x01, 0x00, 0x00] encodes to "AQEAAA"; "AQEAAB" decodes to the same bytes only if slack bits are ignored.
        Assert.Equal("AQEAAA", MerkleProof.Decode([0x01, 0x01, 0x00, 0x00]).ToBase64Url());
        Assert.Throws<MerkleProofFormatException>(() => MerkleProof.FromBase64Url("AQEAAB"));
    }
    [Fact]
    public void Weights_sum_through_set_replace_remove_and_build_without_changing_roots()
    {
        var rng = new Random(7);
        var tree = new SparseMerkleTree();
        var plain = new SparseMerkleTree();
        var expected = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var step = 0; step < 2000; step++)
        {
            var path = $"nodes/{rng.Next(300)}";
            if (rng.Next(4) == 0)
            {
                Assert.Equal(expected.Remove(path), tree.Remove(path));
                plain.Remove(path);
            }
            else
            {
                var weight = rng.Next(0, 5000);
                var value = SHA256.HashData(Encoding.UTF8.GetBytes(path + step));
                var key = SHA256.HashData(Encoding.UTF8.GetBytes(path));
                tree.Set(key, value, weight);
                plain.Set(key, value);
                expected[path] = weight;
            }

            Assert.Equal(expected.Values.Sum(w => (long)w), tree.TotalWeight);
            Assert.Equal(plain.RootHex, tree.RootHex); // a weight is never hashed
        }

        foreach (var (path, weight) in expected)
        {
            Assert.Equal(weight, tree.GetWeight(SHA256.HashData(Encoding.UTF8.GetBytes(path))));
        }

        Assert.Equal(0, tree.GetWeight(SHA256.HashData("absent"u8)));

        // Built in one pass from the same leaves: the same total and per-key weights.
        var keys = expected.Keys.SelectMany(p => SHA256.HashData(Encoding.UTF8.GetBytes(p))).ToArray();
        var values = expected.Keys.SelectMany(p => { tree.TryGetValue(p, out var v); return v!; }).ToArray();
        var built = SparseMerkleTree.Build(keys, values, expected.Values.ToArray());
        Assert.Equal(tree.TotalWeight, built.TotalWeight);
        Assert.Equal(tree.RootHex, built.RootHex);
        Assert.Equal(expected.First().Value, built.GetWeight(SHA256.HashData(Encoding.UTF8.GetBytes(expected.First().Key))));
        Assert.Throws<ArgumentException>(() => SparseMerkleTree.Build(keys, values, [1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.Set(new byte[32], new byte[32], -1));
    }
}
