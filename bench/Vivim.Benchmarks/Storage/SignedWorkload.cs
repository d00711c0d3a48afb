using System.Text.Json.Nodes;
using Vivim.Anchors;
using Vivim.Benchmarks.Cluster;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;

namespace Vivim.Benchmarks.Storage;

/// <summary>One DID's parent key and its updates, signed before the clock starts, cut into batches.</summary>
internal sealed record SignedWorkload(SigningKey Key, List<List<string>> Batches)
{
    public int Updates => Batches.Sum(b => b.Count);

    /// <summary>Signs on every core: <paramref name="dids"/> workloads of <paramref name="perDid"/> note creations each.</summary>
    public static List<SignedWorkload> CreateMany(int dids, int perDid, int batchSize)
    {
        var keys = Enumerable.Range(0, dids).Select(_ => SigningKey.Generate()).ToList();
        var batchesPerDid = (perDid + batchSize - 1) / batchSize;
        var batches = new List<string>[dids * batchesPerDid];
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Parallel.For(0, batches.Length, b =>
        {
            var key = keys[b / batchesPerDid];
            var first = b % batchesPerDid * batchSize;
            batches[b] = [.. Enumerable.Range(first, Math.Min(batchSize, perDid - first)).Select(i => Note(key, i, now))];
        });
        return [.. keys.Select((key, d) => new SignedWorkload(key, [.. batches.Skip(d * batchesPerDid).Take(batchesPerDid)]))];
    }

    public Task InitializeAsync(IClusterClient client) =>
        client.GetGrain<IAnchorStateGrain>(Key.Did.Value).InitializeAsync(new AnchorSetup(BenchCluster.Vault.Seal(Key.ExportSeed(), Key.Did.Value)));

    private static string Note(SigningKey key, int i, long now)
    {
        var update = ProtocolModel.ToJsonObject(new StateUpdate(
            Guid.NewGuid().ToString(), UpdateType.Memory, now, key.Did.Value, string.Empty, UpdateOperation.Create,
            $"memoryIndex/notes/{i}", RawJson.From(new JsonObject { ["title"] = $"note {i}", ["body"] = new string('x', 200), ["tags"] = new JsonArray("a", "b") }),
            string.Empty, string.Empty));
        SignatureV1.SignInPlace(key, SignedKind.StateUpdate, update);
        SignatureV2.SignInPlace(key, SignedKind.StateUpdate, update);
        return JavaScriptJson.Stringify(update);
    }
}
