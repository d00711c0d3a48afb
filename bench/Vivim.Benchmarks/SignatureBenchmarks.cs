using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Signatures;

namespace Vivim.Benchmarks;

/// <summary>
/// v1 and v2 sign/verify of a typical StateUpdate, next to raw Ed25519 over 32 bytes (the baseline: the bound any
/// signature rule is measured against).
/// </summary>
[MemoryDiagnoser]
public class SignatureBenchmarks
{
    private SigningKey _key = null!;
    private JsonObject _update = null!;
    private byte[] _digest = null!;
    private byte[] _rawSignature = null!;

    [GlobalSetup]
    public void Setup()
    {
        _key = SigningKey.FromSeed(new byte[32]);
        _update = ProtocolJson.ParseObject($$"""
            {"updateId":"0b5f3a9e-7c1d-4e2f-9a8b-1c2d3e4f5a6b","type":"memory","timestamp":1767225600000,
             "sourceDid":"{{_key.Did}}","sourceCloneId":"clone-1","operation":"update","path":"memoryIndex/notes/42",
             "data":{"title":"Meeting notes","tags":["work","q3"],"body":"{{new string('x', 300)}}","pinned":false},
             "merkleProof":""}
            """);
        SignatureV1.SignInPlace(_key, SignedKind.StateUpdate, _update);
        SignatureV2.SignInPlace(_key, SignedKind.StateUpdate, _update);
        _digest = new byte[32];
        _rawSignature = _key.Sign(_digest);
    }

    [GlobalCleanup]
    public void Cleanup() => _key.Dispose();

    [Benchmark(Baseline = true)]
    public bool Ed25519VerifyRaw() => Ed25519Keys.Verify(_key.PublicKey, _digest, _rawSignature);

    [Benchmark]
    public byte[] Ed25519SignRaw() => _key.Sign(_digest);

    [Benchmark]
    public string V1Sign() => SignatureV1.Sign(_key, _update, SignatureV1.StateUpdateFields);

    [Benchmark]
    public bool V1Verify() => SignatureV1.Verify(SignedKind.StateUpdate, _update, _key.PublicKey);

    [Benchmark]
    public string V2Sign() => SignatureV2.Sign(_key, SignedKind.StateUpdate, _update);

    [Benchmark]
    public bool V2Verify() => SignatureV2.Verify(SignedKind.StateUpdate, _update, _key.PublicKey);
}
