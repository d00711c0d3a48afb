using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Vivim.Protocol.Merkle;

using Vivim.Tests.Support;

namespace Vivim.Tests.Protocol;

/// <summary>Cross-checks roots and proof bytes against the independent JavaScript implementation (interop/vectors/merkle.mjs).</summary>
public class MerkleJsInteropTests
{
    [Fact]
    public void Worked_example_of_the_protocol_document()
    {
        static byte[] Jcs(string text) => SHA256.HashData(Encoding.UTF8.GetBytes(text));
        var tree = SparseMerkleTree.BuildFromPaths([
            new("identity/self", Jcs("""{"name":"Ada"}""")),
            new("nodes/laptop", Jcs("""{"kind":"laptop"}""")),
            new("apps/notes", Jcs("""{"enabled":true}""")),
        ]);
        Assert.Equal("dbf8010747b6a859132b1a2e04daf9baf284f2911ffcccd7b298b0d91b9cb3cd", tree.RootHex);
        Assert.Equal(
            "AQAAA2Aixo4a533wOSI6aZ4qpH03of0Z6Rj1HSHdcIpFJHyMEwIJh1jRm5zKH4kL7BMqA-uZQ2ZUA9TAHSfMH2CsNWfs",
            tree.GetProof("identity/self").ToBase64Url());
        Assert.Equal("AQEAAYDTLHRcSlOOFHa5kvuGH_mWuUda4OUkpopl2-8EF3ZVzA", tree.GetProof("memoryIndex/notes/42").ToBase64Url());
        Assert.Equal(
            "AQLarRLEZvM77DUdiGpgDJFEFStLYwkLEO95izZFJfytZ8GwdfzjYhmWcYzFcHqI8pF-Ie8YmaMnI1kw6zdwQ26bAAJA_AilL9h0Ljs5eajQlFfaT_cBVRkR2HywT0cmjDXAm2Q",
            tree.GetProof("contentManifest/a").ToBase64Url());
    }

    [Fact]
    public async Task Node_recomputes_the_same_roots_and_byte_identical_proofs()
    {
        string vectors = Repository.PathOf("interop", "vectors");

        var random = new Random(20261124);
        string file = Path.Combine(Path.GetTempPath(), $"vivim-merkle-{Guid.NewGuid():N}.json");
        var roots = new List<string>();
        using (var stream = File.Create(file))
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteStartArray("cases");
            foreach (int size in new[] { 0, 1, 2, 3, 7, 40, 250 })
            {
                var documents = new Dictionary<string, byte[]>();
                for (int i = 0; i < size; i++)
                {
                    documents[$"{Category(random)}/{random.Next(1_000_000)}"] = RandomBytes(random);
                }

                var tree = new SparseMerkleTree();
                foreach (var (path, value) in documents)
                {
                    tree.Set(path, value);
                }

                roots.Add(tree.RootHex);
                json.WriteStartObject();
                json.WriteStartObject("documents");
                foreach (var (path, value) in documents)
                {
                    json.WriteString(path, Convert.ToHexStringLower(value));
                }

                json.WriteEndObject();
                json.WriteString("root", tree.RootHex);
                json.WriteStartArray("proofs");
                var probes = documents.Keys.Take(20).Concat(Enumerable.Range(0, 10).Select(i => $"{Category(random)}/absent-{i}"));
                foreach (string path in probes)
                {
                    json.WriteStartObject();
                    json.WriteString("path", path);
                    if (tree.TryGetValue(path, out var value))
                    {
                        json.WriteString("value", Convert.ToHexStringLower(value));
                    }
                    else
                    {
                        json.WriteNull("value");
                    }

                    json.WriteString("proof", tree.GetProof(path).ToBase64Url());
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            // Raw keys sharing long prefixes: deep single-child runs that hashed paths almost never produce.
            foreach (int size in new[] { 2, 5, 30, 120 })
            {
                var leaves = new Dictionary<string, byte[]>();
                for (int i = 0; i < size; i++)
                {
                    leaves[Convert.ToHexStringLower(ClusteredKey(random))] = RandomBytes(random);
                }

                var tree = SparseMerkleTree.Build(leaves.Select(e => new KeyValuePair<byte[], byte[]>(Convert.FromHexString(e.Key), e.Value)));
                roots.Add(tree.RootHex);
                json.WriteStartObject();
                json.WriteStartObject("leaves");
                foreach (var (key, value) in leaves)
                {
                    json.WriteString(key, Convert.ToHexStringLower(value));
                }

                json.WriteEndObject();
                json.WriteString("root", tree.RootHex);
                json.WriteStartArray("proofs");
                var probes = leaves.Keys.Take(30).Concat(Enumerable.Range(0, 15).Select(_ => Convert.ToHexStringLower(ClusteredKey(random))));
                foreach (string keyHex in probes)
                {
                    byte[] key = Convert.FromHexString(keyHex);
                    json.WriteStartObject();
                    json.WriteString("key", keyHex);
                    if (tree.TryGetValue(key, out var value))
                    {
                        json.WriteString("value", Convert.ToHexStringLower(value));
                    }
                    else
                    {
                        json.WriteNull("value");
                    }

                    json.WriteString("proof", tree.GetProof(key).ToBase64Url());
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        try
        {
            var (exit, stdout, stderr) = await NodeScript.RunAsync(vectors, "merkle-selftest.mjs", [file], TimeSpan.FromMinutes(2));
            Assert.True(exit == 0, $"node merkle-selftest.mjs failed ({exit}):\n{stdout}\n{stderr}");
            Assert.Contains($"ok cases={roots.Count} ", stdout, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static string Category(Random random) =>
        new[] { "identity", "nodes", "apps", "contentManifest", "socialGraph", "memoryIndex" }[random.Next(6)];

    // Copies a fixed base up to a random bit, then random bits.
    private static byte[] ClusteredKey(Random random)
    {
        byte[] key = RandomBytes(random);
        byte[] baseKey = random.Next(2) == 0 ? new byte[32] : Enumerable.Repeat((byte)0xA7, 32).ToArray();
        int shared = random.Next(257);
        for (int i = 0; i < shared; i++)
        {
            byte mask = (byte)(0x80 >> (i & 7));
            key[i >> 3] = (byte)((key[i >> 3] & ~mask) | (baseKey[i >> 3] & mask));
        }

        return key;
    }

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[32];
        random.NextBytes(bytes);
        return bytes;
    }
}
