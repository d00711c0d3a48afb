using System.Text;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Vivim.Gateway.Api;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Protocol.Sync;

namespace Vivim.Benchmarks.Gateway;

/// <summary>
/// A page of 100 updates (one commit) as the gateway puts it on the wire for an HTTP pull or a sync-channel batch:
/// the stored text written as it is (<see cref="WireJson.Page"/>) next to the former path, which parsed each stored
/// update into a record and serialized it again. Run: <c>-- --filter '*PageEncoding*'</c>.
/// </summary>
[MemoryDiagnoser]
public class PageEncodingBenchmarks
{
    private const int Updates = 100;
    private StoredUpdate[] _stored = null!;
    private Commit[] _commits = null!;

    [GlobalSetup]
    public void Setup()
    {
        var key = SigningKey.Generate();
        _stored = new StoredUpdate[Updates];
        for (var i = 0; i < Updates; i++)
        {
            var json = ProtocolModel.ToJsonObject(new StateUpdate(
                Guid.NewGuid().ToString(), UpdateType.Memory, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), key.Did.Value, string.Empty, UpdateOperation.Create,
                $"memoryIndex/notes/{i}", RawJson.From(new JsonObject { ["title"] = "note", ["body"] = new string('x', 200), ["tags"] = new JsonArray("a", "b") }),
                string.Empty, string.Empty));
            SignatureV1.SignInPlace(key, SignedKind.StateUpdate, json);
            SignatureV2.SignInPlace(key, SignedKind.StateUpdate, json);
            json["seq"] = i + 1;
            json["merkleProof"] = Convert.ToBase64String(new byte[32 * 7]);
            _stored[i] = new StoredUpdate(i + 1, JavaScriptJson.Stringify(json));
        }

        var roots = Enumerable.Range(0, Updates).Select(i => Convert.ToHexStringLower(new byte[32])).ToList();
        _commits = [new Commit(key.Did.Value, 1, Updates, roots[0], roots, roots[^1], roots, 0)];
        if (!Encoding.UTF8.GetString(WriteStored()).Equals(Encoding.UTF8.GetString(ParseAndReserialize()), StringComparison.Ordinal))
        {
            throw new InvalidOperationException("The two paths must put the same bytes on the wire.");
        }
    }

    [Benchmark(Baseline = true)]
    public byte[] ParseAndReserialize()
    {
        var updates = _stored.Select(u => ProtocolModel.Parse<StateUpdate>(Encoding.UTF8.GetBytes(u.Json), JsonLimits.Snapshot));
        return JavaScriptJson.StringifyToUtf8(new JsonObject
        {
            ["updates"] = new JsonArray([.. updates.Select(u => (JsonNode)ProtocolModel.ToJsonObject(u))]),
            ["commits"] = new JsonArray([.. _commits.Select(c => (JsonNode)ProtocolModel.ToJsonObject(c))]),
            ["headSeq"] = Updates,
        }, JsonLimits.Snapshot);
    }

    [Benchmark]
    public byte[] WriteStored() => WireJson.Page(_stored, _commits, Updates);
}
