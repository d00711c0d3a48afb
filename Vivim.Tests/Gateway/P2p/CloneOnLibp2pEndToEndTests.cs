using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Vivim.Gateway.P2p;
using Vivim.Protocol.Identity;
using Vivim.Tests.Libp2p;
using Vivim.Tests.Support;

namespace Vivim.Tests.Gateway.P2p;

/// <summary>
/// A clone that knows nothing but the gateway's <c>GET /v1/p2p</c> answer does everything over the public libp2p
/// network, in js-libp2p 3.x (interop/libp2p/clone-peer.mjs) with its DID key as its peer identity: finds the exit node
/// on the DHT (also through a js DHT node that only learned the record), fetches and verifies the advertisement,
/// registers, pulls and verifies the snapshot and every update with the JavaScript reference checks
/// (interop/vectors/clone-checks.mjs), and follows the DID's commits on GossipSub.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class CloneOnLibp2pEndToEndTests(GatewayFixture gateway)
{
    private const int Writes = 5;

    [Fact]
    public async Task A_js_clone_finds_registers_pulls_and_follows_an_exit_node_on_libp2p_verifying_everything()
    {
        using var cts = TestUtil.InteropTimeout();
        var ct = cts.Token;
        var (_, apiKey) = await gateway.CreateTenantAsync("libp2p-end-to-end");
        var did = await gateway.CreateExitNodeAsync(apiKey);
        await GatewayTestKit.WriteAsync(gateway, apiKey, did, ("memoryIndex/notes/0", """{"text":"before"}"""));

        using var http = gateway.CreateClient();
        var p2p = JsonNode.Parse(await http.GetStringAsync("/v1/p2p", ct))!;
        var gatewayPeer = p2p["peerId"]!.GetValue<string>();
        var gatewayAddress = p2p["multiaddrs"]![0]!.GetValue<string>() + "/p2p/" + gatewayPeer;

        // A DHT node next to the gateway learns the provider records; a second one, connected only to it, finds them there.
        await using var dhtNode = await JsPeer.StartAsync(ct, "peer.mjs", "--dht");
        await dhtNode.CommandAsync(new JsonObject { ["cmd"] = "dial", ["addr"] = gatewayAddress }, ct);
        await using var farNode = await JsPeer.StartAsync(ct, "clone-peer.mjs", $"--seed={Convert.ToHexStringLower(SigningKey.Generate().ExportSeed())}");
        await farNode.CommandAsync(new JsonObject { ["cmd"] = "dial", ["addr"] = dhtNode.Addrs[0] }, ct);
        var farProviders = await UntilProvidedAsync(farNode, "/vivim/exit-node/" + did, ct);
        Assert.Equal(gatewayPeer, farProviders[0]!["peer"]!.GetValue<string>());

        // The clone: its libp2p identity is its DID key.
        using var cloneKey = SigningKey.Generate();
        await using var clone = await JsPeer.StartAsync(ct, "clone-peer.mjs", $"--seed={Convert.ToHexStringLower(cloneKey.ExportSeed())}");
        await clone.CommandAsync(new JsonObject { ["cmd"] = "dial", ["addr"] = gatewayAddress }, ct);
        // Asked again until the clone's routing table holds the gateway (identify runs after the dial returns).
        var providers = await UntilProvidedAsync(clone, "/vivim/exit-node/" + did, ct);
        Assert.Equal(gatewayPeer, providers[0]!["peer"]!.GetValue<string>());

        var ad = await clone.CommandAsync(new JsonObject { ["cmd"] = "advertisement", ["peer"] = gatewayPeer, ["did"] = did }, ct);
        Assert.True(ad["verified"]!.GetValue<bool>(), ad.ToJsonString());
        Assert.Equal(gatewayPeer, ad["advertisement"]!["peerId"]!.GetValue<string>());
        Assert.Contains(p2p["multiaddrs"]![0]!.GetValue<string>(), ad["advertisement"]!["multiaddrs"]!.AsArray().Select(a => a!.GetValue<string>()));

        var registered = await clone.CommandAsync(new JsonObject { ["cmd"] = "register", ["peer"] = gatewayPeer, ["exitNode"] = did }, ct);
        Assert.True(registered["response"]!["approved"]?.GetValue<bool>() == true, registered.ToJsonString());
        Assert.True(registered["trustVerified"]!.GetValue<bool>(), registered.ToJsonString());
        Assert.Equal(cloneKey.Did.Value, registered["did"]!.GetValue<string>());
        var cloneId = registered["response"]!["cloneId"]!.GetValue<string>();
        Assert.Equal(gatewayAddress, registered["response"]!["endpoints"]!["p2p"]!.GetValue<string>());

        // The snapshot over /vivim/sync/1.0.0, checked in JavaScript (v2 proof, documents reproduce rootV2).
        var first = await clone.CommandAsync(new JsonObject { ["cmd"] = "sync", ["peer"] = gatewayPeer, ["cloneId"] = cloneId, ["parentDid"] = did }, ct);
        Assert.Null(first["error"]);
        Assert.Equal(1, (long)first["seq"]!.GetValue<double>());
        Assert.Equal(1, (long)first["checked"]!["snapshotProofs"]!.GetValue<double>());

        // Follow the DID's topic; the gateway sees the subscription before the owner writes.
        var topic = "/vivim/sync/" + did;
        await clone.CommandAsync(new JsonObject { ["cmd"] = "subscribe", ["topic"] = topic }, ct);
        var pubsub = gateway.Services.GetRequiredService<GatewayPeer>().Pubsub;
        await Until.TrueAsync(() => pubsub.TopicPeers(topic).Any(p => p.ToString() == clone.PeerId), () => "the gateway never saw the clone subscribe");

        var firstWrite = await GatewayTestKit.WriteAsync(gateway, apiKey, did, ("memoryIndex/notes/1", """{"text":"one"}"""));
        for (var i = 2; i <= Writes; i++)
        {
            await GatewayTestKit.WriteAsync(gateway, apiKey, did, ($"memoryIndex/notes/{i}", $$"""{"text":"{{i}}","n":{{i}}}"""), ($"memoryIndex/other/{i}", "[1]"));
        }

        var head = firstWrite + ((Writes - 1) * 2);
        JsonArray commits = [];
        await Until.TrueAsync(async () =>
        {
            commits = (await clone.CommandAsync(new JsonObject { ["cmd"] = "commits", ["did"] = did }, ct))["commits"]!.AsArray();
            return commits.Any(c => (long)c!["toSeq"]!.GetValue<double>() == head);
        }, () => $"commits on {topic}: {commits.ToJsonString()}");

        // Every commit of the writes exactly once, in seq order, each verifying by the DID; at most one head notice before them.
        var live = commits.Where(c => (long)c!["toSeq"]!.GetValue<double>() >= firstWrite).ToList();
        Assert.All(commits, c => Assert.True(c!["verified"]!.GetValue<bool>(), c.ToJsonString()));
        Assert.All(commits, c => Assert.Equal(gatewayPeer, c!["from"]!.GetValue<string>()));
        Assert.Equal(Writes, live.Count);
        Assert.Equal(firstWrite, (long)live[0]!["fromSeq"]!.GetValue<double>());
        for (var i = 1; i < live.Count; i++)
        {
            Assert.Equal((long)live[i - 1]!["toSeq"]!.GetValue<double>() + 1, (long)live[i]!["fromSeq"]!.GetValue<double>());
        }

        // Pull the updates over /vivim/sync/1.0.0 in pages of 3, every signature, hash, root and proof checked in JavaScript.
        var synced = await clone.CommandAsync(new JsonObject { ["cmd"] = "sync", ["peer"] = gatewayPeer, ["cloneId"] = cloneId, ["parentDid"] = did, ["limit"] = 3 }, ct);
        Assert.Null(synced["error"]);
        Assert.Equal(head, (long)synced["seq"]!.GetValue<double>());
        var checkedCounts = synced["checked"]!;
        Assert.Equal(head - 1, (long)checkedCounts["updateHashes"]!.GetValue<double>());
        Assert.Equal(head - 1, (long)checkedCounts["merkleProofs"]!.GetValue<double>());
        Assert.Equal(Writes, (long)checkedCounts["commitProofs"]!.GetValue<double>());
        Assert.Equal(live[^1]!["root"]!.GetValue<string>(), synced["root"]!.GetValue<string>());
        using var owner = gateway.CreateClient(apiKey);
        Assert.Equal(JsonNode.Parse(await owner.GetStringAsync($"/v1/exit-nodes/{did}", ct))!["root"]!.GetValue<string>(), synced["root"]!.GetValue<string>());
    }

    private static async Task<JsonArray> UntilProvidedAsync(JsPeer node, string key, CancellationToken ct)
    {
        JsonArray providers = [];
        await Until.TrueAsync(async () =>
        {
            var reply = await node.CommandAsync(new JsonObject { ["cmd"] = "findProviders", ["key"] = key }, ct);
            providers = reply["providers"]!.AsArray();
            return providers.Count > 0;
        }, () => $"no provider of {key} found through the DHT");
        return providers;
    }
}
