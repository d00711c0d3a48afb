using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Vivim.Anchors;
using Vivim.Gateway.Api;
using Vivim.Protocol;
using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Merkle;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Protocol.Sync;
using OwnerUpdateRequest = Vivim.Gateway.Api.ExitNodeEndpoints.OwnerUpdateRequest;

namespace Vivim.Benchmarks;

/// <summary>
/// Where an update's CPU goes inside the anchor, stage by stage, in process CPU time (not wall time, so a busy machine
/// moves the figures less) and in Ed25519 verifications' worth measured in the same run: what each write path pays
/// besides the one verification (or two signatures) that is its work.
/// Usage: <c>dotnet run -c Release -- update-costs [updates] [rounds]</c>.
/// </summary>
internal static class UpdateCosts
{
    public static int Run(string[] args)
    {
        var count = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5000;
        var rounds = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 5;
        var key = SigningKey.Generate();
        var texts = new string[count];
        var owned = new OwnerUpdate[count];
        for (var i = 0; i < count; i++)
        {
            var path = $"memoryIndex/notes/{i}";
            var data = new JsonObject { ["title"] = $"note {i}", ["body"] = new string('x', 200), ["tags"] = new JsonArray("a", "b"), ["score"] = i * 0.5 };
            var json = ProtocolModel.ToJsonObject(new StateUpdate(
                Guid.NewGuid().ToString(), UpdateType.Memory, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), key.Did.Value, string.Empty, UpdateOperation.Create,
                path, RawJson.From(data), string.Empty, string.Empty));
            SignatureV1.SignInPlace(key, SignedKind.StateUpdate, json);
            SignatureV2.SignInPlace(key, SignedKind.StateUpdate, json);
            texts[i] = JavaScriptJson.Stringify(json);
            owned[i] = new OwnerUpdate(UpdateType.Memory, UpdateOperation.Create, path, RawJson.From(data));
        }

        var options = new AnchorOptions();
        var authors = new System.Collections.Concurrent.ConcurrentDictionary<string, DidKey>(StringComparer.Ordinal);
        var bytes = texts.Select(Encoding.UTF8.GetBytes).ToArray();
        var parsed = bytes.Select(b => ProtocolJson.ParseObject(b)).ToArray();
        var dataRanges = new Range[count];
        var signing = parsed.Select((j, i) => SignatureV2.SigningBytes(SignedKind.StateUpdate, j, "data", out dataRanges[i])).ToArray();
        var signatures = parsed.Select(SignatureV2.ReadProofSignature).ToArray();
        var records = parsed.Select(StateUpdateReader.Read).ToArray();
        var submitted = bytes.Select(b => SubmittedUpdate.TryRead(b, JsonLimits.Default, out var read) ? read : throw new InvalidOperationException("A signed update did not take the one pass.")).ToArray();
        var tree = new SparseMerkleTree();
        var keys = records.Select(r => MerkleHashes.KeyOf(r.Path)).ToArray();
        var values = signing.Select(s => SHA256.HashData(s)).ToArray();
        var sink = 0L;

        // Owner writes arrive as {updates: [...]} bodies of 50; a body stage runs once per 50th update.
        const int PerBody = 50;
        var bodies = Enumerable.Range(0, (count + PerBody - 1) / PerBody).Select(b => Encoding.UTF8.GetBytes(JavaScriptJson.Stringify(new JsonObject
        {
            ["updates"] = new JsonArray([.. owned.Skip(b * PerBody).Take(PerBody).Select(o => (JsonNode)new JsonObject
            {
                ["type"] = "memory", ["operation"] = "create", ["path"] = o.Path, ["data"] = o.Data.Parse(),
            })]),
        }))).ToArray();

        var stages = new (string Name, Action<int> Step)[]
        {
            ("Ed25519 verify (the unit)", i => sink += Ed25519Keys.Verify(key.PublicKey, signing[i], signatures[i]) ? 1 : 0),
            ("tree path: text to UTF-8 and parse", i => sink += ProtocolJson.ParseObject(Encoding.UTF8.GetBytes(texts[i])).Count),
            ("tree path: read the record", i => sink += StateUpdateReader.Read(parsed[i]).Data.Text.Length),
            ("tree path: v2 signing bytes", i => sink += SignatureV2.SigningBytes(SignedKind.StateUpdate, parsed[i], "data", out _).Length),
            ("hashes (value, update, key) and hex", i => sink += Hex.Encode(SHA256.HashData(signing[i])).Length + SHA256.HashData(signing[i].AsSpan(dataRanges[i]))[0] + MerkleHashes.KeyOf(records[i].Path)[0]),
            ("one pass: record, v2 signing bytes, proof", i => sink += SubmittedUpdate.TryRead(bytes[i], JsonLimits.Default, out var read) ? read.SigningBytes.Length : 0),
            ("check (one pass, rules, verify, hashes)", i => sink += UpdateCandidate.Check(0, texts[i], options, DateTimeOffset.UtcNow, authors).Rejection is null ? 1 : 0),
            ("tree: set, root, proof", i =>
            {
                tree.Set(keys[i], values[i], 300);
                sink += tree.RootHex.Length + tree.GetProof(keys[i]).ToBase64Url().Length;
            }),
            ("stored text, seq as a long, data written again", i =>
            {
                var stored = parsed[i];
                stored["seq"] = (long)(i + 1);
                stored["merkleProof"] = "AAAA";
                sink += JavaScriptJson.Stringify(stored).Length;
            }),
            ("tree path: stored text (seq, proof, stringify)", i =>
            {
                var stored = parsed[i];
                stored["seq"] = (double)(i + 1);
                stored["merkleProof"] = "AAAA";
                sink += JavaScriptJson.Stringify(stored, "data", records[i].Data.Text).Length;
            }),
            ("stored text as submitted (seq, proof put in)", i => sink += submitted[i].StoredText(i + 1, "AAAA").Length),
            ("owner body as a tree, each update from it", i =>
            {
                if (i % PerBody == 0)
                {
                    foreach (var update in (JsonArray)ProtocolJson.ParseObject(bodies[i / PerBody])["updates"]!)
                    {
                        sink += ProtocolModel.FromJsonObject<OwnerUpdateRequest>((JsonObject)update!).Path.Length;
                    }
                }
            }),
            ("owner body checked, each update from its text", i => sink += i % PerBody == 0 ? OwnerUpdateBatchBody.Read(bodies[i / PerBody], 1 << 20, PerBody).Count : 0),
            ("owned: build, sign v1 and v2, the record", i => sink += UpdateCandidate.Owned(0, owned[i], key, options, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()).Rejection is null ? 1 : 0),
            ("Ed25519 sign", i => sink += key.Sign(signing[i]).Length),
        };

        Console.WriteLine($"Update costs: {count:N0} updates of {bytes.Average(b => b.Length):N0} bytes, one thread, process CPU time, median of {rounds} rounds");
        var results = new List<(string Name, double Micros)>();
        foreach (var (name, step) in stages)
        {
            var perUpdate = new List<double>();
            for (var round = 0; round <= rounds; round++)
            {
                var before = Process.GetCurrentProcess().TotalProcessorTime;
                for (var i = 0; i < count; i++)
                {
                    step(i);
                }

                var cpu = Process.GetCurrentProcess().TotalProcessorTime - before;
                if (round > 0)
                {
                    perUpdate.Add(cpu.TotalMicroseconds / count); // round 0 warms up
                }
            }

            perUpdate.Sort();
            results.Add((name, perUpdate[perUpdate.Count / 2]));
        }

        var unit = results[0].Micros;
        foreach (var (name, micros) in results)
        {
            Console.WriteLine($"  {name,-42} {micros,8:0.0} µs = {micros / unit,5:0.00} verifications");
        }

        return sink == long.MinValue ? 1 : 0;
    }
}
