using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Vivim.Anchors;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;

namespace Vivim.Benchmarks;

/// <summary>The anchor's per-update check (parse, shape, path, size, v2 verify, hashes) next to a bare Ed25519 verify.</summary>
[MemoryDiagnoser]
public class UpdateCheckBenchmarks
{
    private SigningKey _key = null!;
    private string _update = null!;
    private byte[] _digest = null!;
    private byte[] _signature = null!;
    private readonly AnchorOptions _options = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, DidKey> _authors = new(StringComparer.Ordinal);

    [GlobalSetup]
    public void Setup()
    {
        _key = SigningKey.Generate();
        var json = ProtocolModel.ToJsonObject(new StateUpdate(
            Guid.NewGuid().ToString(), UpdateType.Memory, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), _key.Did.Value, string.Empty, UpdateOperation.Create,
            "memoryIndex/notes/1", RawJson.From(new JsonObject { ["title"] = "note", ["body"] = new string('x', 200), ["tags"] = new JsonArray("a", "b") }),
            string.Empty, string.Empty));
        SignatureV1.SignInPlace(_key, SignedKind.StateUpdate, json);
        SignatureV2.SignInPlace(_key, SignedKind.StateUpdate, json);
        _update = JavaScriptJson.Stringify(json);
        _digest = new byte[32];
        _signature = _key.Sign(_digest);
    }

    [Benchmark(Baseline = true)]
    public bool Ed25519Verify() => Ed25519Keys.Verify(_key.PublicKey, _digest, _signature);

    [Benchmark]
    public bool Check() => UpdateCandidate.Check(0, _update, _options, DateTimeOffset.UtcNow, _authors).Rejection is null;
}
