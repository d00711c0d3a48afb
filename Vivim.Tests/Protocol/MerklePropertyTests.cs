using CsCheck;
using Vivim.Protocol.Merkle;
using static Vivim.Tests.Protocol.MerkleReference;

namespace Vivim.Tests.Protocol;

public class MerklePropertyTests
{
    // Keys copy one of a few bases up to a random bit and are random after it, so trees get long shared
    // prefixes, single-child runs and splits at every depth instead of the ~log2(n) depth of hashed paths.
    private static readonly byte[][] Bases =
    [
        new byte[32],
        Enumerable.Repeat((byte)0xFF, 32).ToArray(),
        Hex(string.Concat(Enumerable.Repeat("5a", 32))),
        Hex("0123456789abcdeffedcba98765432100f1e2d3c4b5a69788796a5b4c3d2e1f0"),
    ];

    private static readonly Gen<byte[]> GenKey =
        Gen.Select(Gen.Int[0, Bases.Length - 1], Gen.Int[0, 256], Gen.Byte.Array[32], (b, shared, noise) =>
        {
            var key = new byte[32];
            for (int i = 0; i < 256; i++)
            {
                int bit = i < shared ? Bit(Bases[b], i) : Bit(noise, i);
                key[i >> 3] |= (byte)(bit << (7 - (i & 7)));
            }

            return key;
        });

    private static readonly Gen<byte[]> GenValue = Gen.Byte.Array[32];

    private static readonly Gen<Dictionary<string, KeyValuePair<byte[], byte[]>>> GenEntries =
        Gen.Select(GenKey, GenValue, (k, v) => new KeyValuePair<byte[], byte[]>(k, v)).Array[0, 40]
            .Select(pairs =>
            {
                var d = new Dictionary<string, KeyValuePair<byte[], byte[]>>();
                foreach (var p in pairs)
                {
                    d[Convert.ToHexString(p.Key)] = p;
                }

                return d;
            });

    private static SparseMerkleTree Incremental(IEnumerable<KeyValuePair<byte[], byte[]>> entries)
    {
        var tree = new SparseMerkleTree();
        foreach (var (k, v) in entries)
        {
            tree.Set(k, v);
        }

        return tree;
    }

    [Fact]
    public void Root_matches_the_definition_and_ignores_insertion_order()
    {
        Gen.Select(GenEntries, Gen.Int).Sample((entries, seed) =>
        {
            var list = entries.Values.ToList();
            List<KeyValuePair<byte[], byte[]>> shuffled = [.. list];
            new Random(seed).Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(shuffled));
            byte[] expected = Root(list);
            Assert.Equal(expected, Incremental(list).GetRoot());
            Assert.Equal(expected, Incremental(shuffled).GetRoot());
            Assert.Equal(list.Count, Incremental(shuffled).Count);
        }, iter: 300);
    }

    [Fact]
    public void Bulk_build_equals_incremental_inserts()
    {
        GenEntries.Sample(entries =>
        {
            var list = entries.Values.ToList();
            var incremental = Incremental(list);
            var fromPairs = SparseMerkleTree.Build(list);
            var packedKeys = list.SelectMany(e => e.Key).ToArray();
            var packedValues = list.SelectMany(e => e.Value).ToArray();
            var fromSpans = SparseMerkleTree.Build(packedKeys, packedValues);
            Assert.Equal(incremental.GetRoot(), fromPairs.GetRoot());
            Assert.Equal(incremental.GetRoot(), fromSpans.GetRoot());
            Assert.Equal(list.Count, fromSpans.Count);

            // A built tree must stay correct under later updates (it starts without free slots).
            foreach (var (k, _) in list.Take(5))
            {
                Assert.True(fromSpans.Remove(k));
                Assert.True(incremental.Remove(k));
            }

            fromSpans.Set(Bases[1], Bases[2]);
            incremental.Set(Bases[1], Bases[2]);
            Assert.Equal(incremental.GetRoot(), fromSpans.GetRoot());
            foreach (var (k, _) in list.Skip(5))
            {
                Assert.Equal(
                    incremental.GetProof(k).Encode(),
                    fromSpans.GetProof(k).Encode());
            }
        }, iter: 200);
    }

    [Fact]
    public void Root_is_history_independent()
    {
        Gen.Select(GenEntries, GenEntries, GenValue).Sample((kept, extra, otherValue) =>
        {
            foreach (var key in kept.Keys)
            {
                extra.Remove(key);
            }

            var tree = new SparseMerkleTree();
            using var a = kept.Values.GetEnumerator();
            using var b = extra.Values.GetEnumerator();
            bool moreA = a.MoveNext();
            bool moreB = b.MoveNext();
            while (moreA || moreB)
            {
                if (moreB)
                {
                    tree.Set(b.Current.Key, b.Current.Value);
                    moreB = b.MoveNext();
                }

                if (moreA)
                {
                    // Write a transient value first, then the final one.
                    tree.Set(a.Current.Key, otherValue);
                    tree.Set(a.Current.Key, a.Current.Value);
                    moreA = a.MoveNext();
                }
            }

            foreach (var e in extra.Values)
            {
                Assert.True(tree.Remove(e.Key));
            }

            Assert.Equal(Root(kept.Values), tree.GetRoot());
            Assert.Equal(kept.Count, tree.Count);

            foreach (var e in kept.Values)
            {
                Assert.True(tree.Remove(e.Key));
            }

            Assert.Equal(MerkleHashes.Empty, tree.Root);
        }, iter: 200);
    }

    [Fact]
    public void Random_operations_agree_with_a_dictionary_model()
    {
        var genOp = Gen.Select(Gen.Int[0, 2], GenKey, GenValue);
        genOp.Array[1, 120].Sample(ops =>
        {
            var tree = new SparseMerkleTree();
            var model = new Dictionary<string, KeyValuePair<byte[], byte[]>>();
            var known = new List<byte[]>();
            foreach (var (op, fresh, value) in ops)
            {
                // Reuse earlier keys half the time so that updates and removals hit present keys.
                byte[] key = op != 0 && known.Count > 0 && (value[0] & 1) == 0 ? known[value[1] % known.Count] : fresh;
                known.Add(key);
                string id = Convert.ToHexString(key);
                if (op == 2)
                {
                    Assert.Equal(model.Remove(id), tree.Remove(key));
                }
                else
                {
                    Assert.Equal(!model.ContainsKey(id), tree.Set(key, value));
                    model[id] = new(key, value);
                }

                Assert.Equal(model.Count, tree.Count);
            }

            Assert.Equal(Root(model.Values), tree.GetRoot());
            foreach (var (k, v) in model.Values)
            {
                Assert.True(tree.TryGetValue(k, out byte[]? got));
                Assert.Equal(v, got);
            }
        }, iter: 300);
    }

    [Fact]
    public void Proofs_verify_for_present_and_absent_keys()
    {
        Gen.Select(GenEntries, GenKey.Array[1, 10]).Sample((entries, probes) =>
        {
            var tree = SparseMerkleTree.Build(entries.Values);
            var root = tree.GetRoot();
            foreach (var (k, v) in entries.Values)
            {
                var proof = tree.GetProof(k);
                Assert.Equal(MerkleProofKind.Inclusion, proof.Kind);
                Assert.True(proof.VerifyInclusion(root, k, v));
                Assert.False(proof.VerifyNonInclusion(root, k));
                RoundTrips(proof);
                Assert.True(MerkleVerifier.Verify(root, k, v, proof.ToBase64Url()));
            }

            foreach (var k in probes.Where(p => !entries.ContainsKey(Convert.ToHexString(p))))
            {
                var proof = tree.GetProof(k);
                Assert.NotEqual(MerkleProofKind.Inclusion, proof.Kind);
                Assert.True(proof.VerifyNonInclusion(root, k));
                Assert.True(proof.Verify(root, k, null));
                Assert.False(proof.VerifyInclusion(root, k, k));
                RoundTrips(proof);
            }
        }, iter: 300);
    }

    [Fact]
    public void Any_single_bit_change_breaks_an_inclusion_proof()
    {
        Gen.Select(GenEntries.Where(e => e.Count > 0), Gen.Int[0, 1000]).Sample((entries, pick) =>
        {
            var tree = SparseMerkleTree.Build(entries.Values);
            var (key, value) = entries.Values.ElementAt(pick % entries.Count);
            var root = tree.GetRoot();
            byte[] proof = tree.GetProof(key).Encode();
            Assert.True(MerkleProof.Decode(proof).VerifyInclusion(root, key, value));
            for (int i = 0; i < proof.Length * 8; i++)
            {
                Assert.False(Accepts(Flip(proof, i), root, key, value), $"proof bit {i}");
            }

            var decoded = MerkleProof.Decode(proof);
            for (int i = 0; i < 256; i++)
            {
                Assert.False(decoded.VerifyInclusion(Flip(root, i), key, value), $"root bit {i}");
                Assert.False(decoded.VerifyInclusion(root, Flip(key, i), value), $"key bit {i}");
                Assert.False(decoded.VerifyInclusion(root, key, Flip(value, i)), $"value bit {i}");
            }
        }, iter: 40);
    }

    [Fact]
    public void Any_single_bit_change_breaks_a_non_inclusion_proof_except_for_keys_it_also_covers()
    {
        Gen.Select(GenEntries, GenKey).Sample((entries, key) =>
        {
            if (entries.ContainsKey(Convert.ToHexString(key)))
            {
                return;
            }

            var tree = SparseMerkleTree.Build(entries.Values);
            var root = tree.GetRoot();
            var decoded = tree.GetProof(key);
            byte[] proof = decoded.Encode();
            for (int i = 0; i < proof.Length * 8; i++)
            {
                Assert.False(Accepts(Flip(proof, i), root, key, null), $"proof bit {i}");
            }

            for (int i = 0; i < 256; i++)
            {
                Assert.False(decoded.VerifyNonInclusion(Flip(root, i), key), $"root bit {i}");

                // Below depth n the proof is about the whole prefix: every other absent key under it is covered too.
                byte[] other = Flip(key, i);
                bool covered = i >= decoded.Depth && !other.AsSpan().SequenceEqual(decoded.OtherKey);
                Assert.Equal(covered, decoded.VerifyNonInclusion(root, other));
            }
        }, iter: 60);
    }

    [Fact]
    public void Decoder_accepts_only_canonical_bytes_and_throws_only_format_errors()
    {
        var genNearlyValid = Gen.Select(Gen.Int[0, 3], Gen.Int[0, 300], Gen.Byte.Array[0, 40], Gen.Int[0, 12], Gen.Byte.Array[32])
            .Select((kind, n, bitmapAndMore, siblings, fill) =>
            {
                var bytes = new List<byte> { 0x01, (byte)kind };
                if (kind == 2)
                {
                    bytes.AddRange(fill);
                    bytes.AddRange(fill);
                }

                bytes.Add((byte)(n >> 8));
                bytes.Add((byte)n);
                bytes.AddRange(bitmapAndMore);
                for (int i = 0; i < siblings; i++)
                {
                    bytes.AddRange(fill);
                }

                return bytes.ToArray();
            });
        Gen.OneOf(genNearlyValid, Gen.Byte.Array[0, 700], Gen.Byte.Array[8000, 9000]).Sample(bytes =>
        {
            MerkleProof proof;
            try
            {
                proof = MerkleProof.Decode(bytes);
            }
            catch (MerkleProofFormatException)
            {
                return;
            }

            // Whatever decodes is canonical: it re-encodes to the very same bytes, and verifying it never throws.
            Assert.Equal(bytes, proof.Encode());
            proof.Verify(Bases[0], Bases[1], null);
            proof.Verify(Bases[0], Bases[1], Bases[2]);
        }, iter: 20_000);

        Gen.String.Sample(text =>
        {
            try
            {
                MerkleProof.FromBase64Url(text);
            }
            catch (MerkleProofFormatException)
            {
            }
        }, iter: 5_000);
    }

    [Fact]
    public void Truncated_or_extended_proofs_are_format_errors()
    {
        Gen.Select(GenEntries, GenKey, Gen.Byte.Array[1, 40]).Sample((entries, key, tail) =>
        {
            byte[] proof = SparseMerkleTree.Build(entries.Values).GetProof(key).Encode();
            for (int length = 0; length < proof.Length; length++)
            {
                Assert.Throws<MerkleProofFormatException>(() => MerkleProof.Decode(proof.AsSpan(0, length)));
            }

            Assert.Throws<MerkleProofFormatException>(() => MerkleProof.Decode([.. proof, .. tail]));
            string text = MerkleProof.Decode(proof).ToBase64Url();
            for (int length = 0; length < text.Length; length++)
            {
                Assert.Throws<MerkleProofFormatException>(() => MerkleProof.FromBase64Url(text[..length]));
            }
        }, iter: 100);
    }

    private static void RoundTrips(MerkleProof proof)
    {
        byte[] bytes = proof.Encode();
        Assert.Equal(bytes, MerkleProof.Decode(bytes).Encode());
        Assert.Equal(bytes, MerkleProof.FromBase64Url(proof.ToBase64Url()).Encode());

        // The comparison a clone makes with a received proof's text: its own text only, not a changed or cut one.
        var text = proof.ToBase64Url();
        Assert.True(proof.HasText(text));
        Assert.False(proof.HasText(text[..^1] + (text[^1] == 'A' ? 'B' : 'A')));
        Assert.False(proof.HasText(text[..^1]));
        Assert.False(proof.HasText(text + "A"));
        Assert.Equal(bytes.Length, 2 + (proof.Kind == MerkleProofKind.NonInclusionLeaf ? 64 : 0) + 2 + ((proof.Depth + 7) / 8)
            + (32 * Enumerable.Range(0, proof.Depth).Count(i => !proof.IsSiblingEmpty(i))));
    }

    private static bool Accepts(byte[] proof, byte[] root, byte[] key, byte[]? value)
    {
        try
        {
            return MerkleProof.Decode(proof).Verify(root, key, value);
        }
        catch (MerkleProofFormatException)
        {
            return false;
        }
    }

    private static byte[] Flip(byte[] bytes, int bit)
    {
        var copy = (byte[])bytes.Clone();
        copy[bit >> 3] ^= (byte)(0x80 >> (bit & 7));
        return copy;
    }
}
