using System.Net;
using System.Text.Json.Nodes;
using Vivim.Protocol.Json;
using Vivim.Tests.Support;

namespace Vivim.Tests.Gateway;

/// <summary>
/// The JavaScript reference replica (interop/vectors/clone-checks.mjs, written from docs/protocol.md with independent
/// libraries) accepts exactly what the gateway serves a clone, and refuses it once anything is changed. The libp2p
/// clone peer verifies with the same module.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class ReferenceReplicaTests(GatewayFixture gateway)
{
    [Fact]
    public async Task The_reference_replica_verifies_the_snapshot_and_every_page_and_refuses_a_tampered_one()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync("reference-replica");
        var did = await gateway.CreateExitNodeAsync(apiKey);
        await GatewayTestKit.WriteAsync(gateway, apiKey, did, ("memoryIndex/profile", """{"name":"Ada"}"""));
        var clone = await GatewayTestKit.RegisterAsync(gateway, did);
        await GatewayTestKit.WriteAsync(gateway, apiKey, did, ("memoryIndex/notes/1", """{"t":"one","n":1.5}"""), ("memoryIndex/posts/1", """{"title":"☃"}"""));
        await OwnerWriteAsync(apiKey, did, """[{"type":"memory","operation":"update","path":"memoryIndex/notes/1","data":{"t":"again"}},{"type":"memory","operation":"create","path":"memoryIndex/notes/2","data":[1,2,{"b":null}]}]""");
        await OwnerWriteAsync(apiKey, did, """[{"type":"memory","operation":"delete","path":"memoryIndex/notes/2"}]""");

        // The snapshot the registration answered (seq 1); GET .../snapshot now would already be at the head.
        var snapshot = clone.Response["initialState"]!.DeepClone().AsObject();
        Assert.Equal(1, Number(snapshot["seq"]));
        var pages = new JsonArray();
        var after = Number(snapshot["seq"]);
        while (true)
        {
            var page = await GetAsync(clone.Key, $"/v1/clones/{clone.CloneId}/updates?after={after}&limit=2");
            var updates = page["updates"]!.AsArray();
            if (updates.Count == 0)
            {
                break;
            }

            after = Number(updates[^1]!["seq"]);
            pages.Add(page);
        }

        Assert.Equal(3, pages.Count); // seqs 2..6 in pages of 2: a commit reaches beyond the first page

        var served = new JsonObject { ["parentDid"] = did, ["snapshot"] = snapshot, ["pages"] = pages };
        var accepted = await CheckAsync(served);
        Assert.True(accepted.ExitCode == 0, accepted.StdErr);
        var result = ProtocolJson.ParseObject(System.Text.Encoding.UTF8.GetBytes(accepted.StdOut));
        Assert.Equal(6, Number(result["seq"]));
        Assert.Equal(5, Number(result["checked"]!["updateHashes"]));
        Assert.Equal(5, Number(result["checked"]!["merkleProofs"]));
        Assert.Equal(3, Number(result["checked"]!["commitProofs"]));

        // The parent's own root after seq 6 is what the reference replica computed.
        using (var http = gateway.CreateClient(apiKey))
        {
            var info = JsonNode.Parse(await http.GetStringAsync($"/v1/exit-nodes/{did}"))!;
            Assert.Equal(info["root"]!.GetValue<string>(), result["root"]!.GetValue<string>());
        }

        // Any change to what was served fails a check: a document, an update's seq order, a commit's root.
        var tamperedData = served.DeepClone().AsObject();
        tamperedData["pages"]![1]!["updates"]![0]!["data"] = JsonNode.Parse("""{"t":"forged"}""");
        Assert.Contains("hash", (await CheckAsync(tamperedData)).StdErr, StringComparison.Ordinal);

        var tamperedRoot = served.DeepClone().AsObject();
        tamperedRoot["pages"]![0]!["commits"]![0]!["prevRoot"] = new string('0', 64);
        Assert.Equal(1, (await CheckAsync(tamperedRoot)).ExitCode);

        var skipped = served.DeepClone().AsObject();
        skipped["pages"]![0]!["updates"]!.AsArray().RemoveAt(0);
        Assert.Contains("gap", (await CheckAsync(skipped)).StdErr, StringComparison.Ordinal);
    }

    private static long Number(JsonNode? node) => (long)node!.GetValue<double>();

    private async Task OwnerWriteAsync(string apiKey, string did, string updates)
    {
        using var http = gateway.CreateClient(apiKey);
        using var response = await http.PostAsync($"/v1/exit-nodes/{did}/updates", GatewayFixture.Json(new JsonObject { ["updates"] = JsonNode.Parse(updates) }));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<JsonObject> GetAsync(Vivim.Protocol.Identity.SigningKey key, string target)
    {
        using var http = gateway.CreateClient();
        var (status, body) = await GatewayTestKit.SendAsync(http, gateway.Signed(key, HttpMethod.Get, target));
        Assert.Equal(HttpStatusCode.OK, status);
        return body!;
    }

    private static async Task<NodeScript.Result> CheckAsync(JsonObject served)
    {
        var file = Path.Combine(Path.GetTempPath(), $"vivim-served-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, served.ToJsonString());
        try
        {
            return await NodeScript.RunAsync(Repository.PathOf("interop", "vectors"), "replica-check.mjs", [file], TimeSpan.FromSeconds(60));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
