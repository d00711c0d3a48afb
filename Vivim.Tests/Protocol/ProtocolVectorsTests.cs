using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Vivim.Protocol;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Merkle;
using Vivim.Protocol.Signatures;
using Vivim.Protocol.State;
using Vivim.Tests.Support;

namespace Vivim.Tests.Protocol;

/// <summary>The committed test vectors: what the code generates, what it verifies, and what JavaScript recomputes.</summary>
public sealed class ProtocolVectorsTests
{
    private static readonly string VectorsPath = Repository.PathOf("docs", "protocol-vectors.json");

    [Fact]
    public void The_committed_vectors_are_what_the_code_generates()
    {
        var generated = ProtocolVectors.GenerateText();
        if (Environment.GetEnvironmentVariable("VIVIM_WRITE_VECTORS") == "1")
        {
            File.WriteAllText(VectorsPath, generated);
        }

        Assert.True(File.Exists(VectorsPath), "docs/protocol-vectors.json is missing: run the tests once with VIVIM_WRITE_VECTORS=1.");
        Assert.True(
            generated == File.ReadAllText(VectorsPath),
            "docs/protocol-vectors.json differs from what the code generates. If the protocol changed on purpose, regenerate it with VIVIM_WRITE_VECTORS=1 and update docs/protocol.md.");
    }

    [Fact]
    public void The_vectors_cover_the_hard_cases()
    {
        var text = File.ReadAllText(VectorsPath);
        var vectors = Load();
        foreach (var section in new[] { "did", "v1", "v2", "jcs", "snapshotRootV1", "merkle" })
        {
            Assert.True(vectors[section]!.AsArray().Count > 0, section);
        }

        var jcsInputs = string.Join("\n", vectors["jcs"]!.AsArray().Select(v => v!["inputText"]!.GetValue<string>()));
        foreach (var literal in new[] { "1e21", "0.1", "-0", "5e-7", "9007199254740993", "12345678901234567890", "\\ud83d\\ude00", "\\u0000", "\"10\"", "{}", "[]" })
        {
            Assert.Contains(literal, jcsInputs, StringComparison.Ordinal);
        }

        Assert.Contains("\\ud800", text, StringComparison.Ordinal); // a lone surrogate in snapshotRootV1
        Assert.Equal(6, vectors["v2"]!.AsArray().Select(v => v!["kind"]!.GetValue<string>()).Distinct().Count());
        Assert.Contains(vectors["merkle"]!.AsArray().SelectMany(m => m!["proofs"]!.AsArray()), p => !p!["present"]!.GetValue<bool>());
    }

    [Fact]
    public void The_CSharp_code_verifies_every_vector()
    {
        var vectors = Load();
        foreach (var v in vectors["did"]!.AsArray())
        {
            using var key = SigningKey.FromSeedHex(v!["seedHex"]!.GetValue<string>());
            Assert.Equal(v["publicKeyHex"]!.GetValue<string>(), key.PublicKeyHex);
            Assert.Equal(v["publicKeyHex"]!.GetValue<string>(), DidKey.Parse(v["did"]!.GetValue<string>()).PublicKeyHex);
        }

        foreach (var v in vectors["v1"]!.AsArray())
        {
            using var key = SigningKey.FromSeedHex(v!["seedHex"]!.GetValue<string>());
            var signed = v["signed"]!.AsObject();
            var fields = signed.Select(p => p.Key).ToArray();
            Assert.True(SignatureV1.Verify(signed, fields, v["signature"]!.GetValue<string>(), key.PublicKey));
            Assert.Equal(v["digestHex"]!.GetValue<string>(), Hex.Encode(SHA256.HashData(Encoding.UTF8.GetBytes(v["json"]!.GetValue<string>()))));
        }

        foreach (var v in vectors["v2"]!.AsArray())
        {
            using var key = SigningKey.FromSeedHex(v!["seedHex"]!.GetValue<string>());
            var kind = Enum.Parse<SignedKind>(v["kind"]!.GetValue<string>());
            var obj = v["object"]!.AsObject();
            Assert.True(SignatureV2.Verify(kind, obj, key.PublicKey), v["kind"]!.GetValue<string>());
            Assert.Equal(v["jcs"]!.GetValue<string>(), Encoding.UTF8.GetString(SignatureV2.SigningBytes(kind, obj)[SignatureV2.DomainPrefix(kind).Length..]));
        }

        foreach (var v in vectors["jcs"]!.AsArray())
        {
            var canonical = v!["canonical"]!.GetValue<string>();
            Assert.Equal(canonical, Jcs.CanonicalizeToString(ProtocolJson.Parse(v["inputText"]!.GetValue<string>())));
            Assert.Equal(canonical, Jcs.CanonicalizeToString(v["input"]));
        }

        foreach (var v in vectors["snapshotRootV1"]!.AsArray())
        {
            Assert.Equal(v!["json"]!.GetValue<string>(), JavaScriptJson.Stringify(v["state"]));
            Assert.Equal(v["merkleRoot"]!.GetValue<string>(), SnapshotRootV1.Compute(v["state"]!));
        }

        foreach (var v in vectors["merkle"]!.AsArray())
        {
            var documents = v!["documents"]!.AsObject();
            var tree = SparseMerkleTree.BuildFromPaths(documents.Select(d => KeyValuePair.Create(d.Key, SHA256.HashData(Jcs.Canonicalize(d.Value)))));
            var root = v["root"]!.GetValue<string>();
            Assert.Equal(root, tree.RootHex);
            foreach (var p in v["proofs"]!.AsArray())
            {
                var path = p!["path"]!.GetValue<string>();
                var value = documents.TryGetPropertyValue(path, out var doc) ? SHA256.HashData(Jcs.Canonicalize(doc)) : null;
                Assert.Equal(p["present"]!.GetValue<bool>(), value is not null);
                Assert.True(MerkleVerifier.Verify(root, path, value, p["proof"]!.GetValue<string>()), path);
                Assert.Equal(p["proof"]!.GetValue<string>(), tree.GetProof(path).ToBase64Url());
            }
        }
    }

    [Fact]
    public async Task JavaScript_recomputes_every_vector()
    {
        var run = await NodeScript.RunAsync(Repository.PathOf("interop", "vectors"), "check-vectors.mjs", [VectorsPath], TimeSpan.FromSeconds(60));
        Assert.True(run.ExitCode == 0, $"check-vectors.mjs failed:\n{run.StdErr}\n{run.StdOut}");
        Assert.Contains("checks passed", run.StdOut, StringComparison.Ordinal);
    }

    /// <summary>The console shows a state as verified only on its own checks: they must agree with the vectors, and refuse altered ones.</summary>
    [Fact]
    public async Task The_consoles_browser_verification_agrees_with_every_vector()
    {
        var verifyJs = Repository.PathOf("Vivim.Gateway", "TenantConsole", "assets", "verify.js");
        var run = await NodeScript.RunAsync(Repository.PathOf("interop", "vectors"), "check-console-verify.mjs", [verifyJs, VectorsPath], TimeSpan.FromSeconds(60));
        Assert.True(run.ExitCode == 0, $"check-console-verify.mjs failed:\n{run.StdErr}\n{run.StdOut}");
        Assert.Contains("checks passed", run.StdOut, StringComparison.Ordinal);
    }

    private static JsonObject Load() => (JsonObject)ProtocolJson.Parse(File.ReadAllBytes(VectorsPath), JsonLimits.Snapshot, allowLoneSurrogates: true)!;
}
