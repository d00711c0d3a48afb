using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Vivim.Protocol.Identity;
using Vivim.Tests.Gateway;
using Vivim.Tests.Libp2p;
using Vivim.Tests.Support;

namespace Vivim.Tests.Durability;

/// <summary>
/// Two gateway processes and one worker silo on PostgreSQL share the hosted DIDs on libp2p. One gateway is SIGKILLed:
/// the other provides its DIDs on the DHT, names itself in their advertisements and publishes their commits, and a js
/// subscriber of such a DID misses no commit (it gets the head again on the take-over).
/// </summary>
public sealed class GatewayFailoverProcessTests : IAsyncLifetime
{
    private TestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await Postgres.CreateDatabaseAsync();

    public async Task DisposeAsync() => await _database.DisposeAsync();

    [Fact]
    public async Task A_killed_gateways_DIDs_are_provided_advertised_and_published_by_the_survivor()
    {
        using var cts = TestUtil.InteropTimeout();
        var ct = cts.Token;
        await using var cluster = await TwoGatewayCluster.StartAsync(_database.ConnectionString);
        var (doomed, doomedUrl, survivor, survivorUrl) = (cluster.Doomed, cluster.DoomedUrl, cluster.Survivor, cluster.SurvivorUrl);

        var api = GatewayFixture.At(survivorUrl);
        var (doomedPeer, doomedAddress) = await P2pAsync(doomedUrl);
        var (survivorPeer, survivorAddress) = await P2pAsync(survivorUrl);
        var (_, apiKey) = await api.CreateTenantAsync("failover");

        // Exit nodes until each gateway serves some: rendezvous hashing splits them.
        var owners = new Dictionary<string, string>();
        while (owners.Values.Distinct().Count() < 2)
        {
            Assert.True(owners.Count < 40, "40 DIDs and one gateway serves them all: ownership is not split");
            var did = await api.CreateExitNodeAsync(apiKey);
            owners[did] = await AdvertisedPeerAsync(api, did, p => p == doomedPeer || p == survivorPeer);
        }

        var moving = owners.First(o => o.Value == doomedPeer).Key;
        var staying = owners.First(o => o.Value == survivorPeer).Key;
        var topic = "/vivim/sync/" + moving;

        // A subscriber of the moving DID, connected to both gateways; its first commit comes from the doomed one.
        await using var js = await JsPeer.StartAsync(ct, "clone-peer.mjs", $"--seed={Convert.ToHexStringLower(SigningKey.Generate().ExportSeed())}");
        await js.CommandAsync(new JsonObject { ["cmd"] = "dial", ["addr"] = doomedAddress }, ct);
        await js.CommandAsync(new JsonObject { ["cmd"] = "dial", ["addr"] = survivorAddress }, ct);
        await js.CommandAsync(new JsonObject { ["cmd"] = "subscribe", ["topic"] = topic }, ct);
        var before = await WriteUntilReceivedAsync(api, apiKey, moving, js, "before", doomed);
        Assert.Equal(doomedPeer, before["from"]!.GetValue<string>());

        // The subscriber is a registered clone too (over the survivor's /vivim/clone), holding a verified replica.
        var registered = await js.CommandAsync(new JsonObject { ["cmd"] = "register", ["peer"] = survivorPeer, ["exitNode"] = moving }, ct);
        Assert.True(registered["response"]!["approved"]?.GetValue<bool>() == true, registered.ToJsonString());
        var cloneId = registered["response"]!["cloneId"]!.GetValue<string>();
        var start = await js.CommandAsync(new JsonObject { ["cmd"] = "sync", ["peer"] = survivorPeer, ["cloneId"] = cloneId, ["parentDid"] = moving }, ct);
        Assert.Null(start["error"]);

        await doomed.KillAsync();
        var killedAt = Stopwatch.StartNew();

        // Written while nobody serves the DID on libp2p (the write may wait for the death to be declared).
        var gapSeq = await WriteRetryingAsync(api, apiKey, moving);
        await AdvertisedPeerAsync(api, moving, p => p == survivorPeer);
        var movedAfter = killedAt.Elapsed;
        Assert.Equal(survivorPeer, await AdvertisedPeerAsync(api, staying, p => p == survivorPeer)); // never moved

        // Provided by the survivor on the DHT (the doomed gateway's old records may linger until they expire).
        await Until.TrueAsync(async () =>
        {
            var reply = await js.CommandAsync(new JsonObject { ["cmd"] = "findProviders", ["key"] = "/vivim/exit-node/" + moving, ["max"] = 5 }, ct);
            return reply["providers"]!.AsArray().Any(p => p!["peer"]!.GetValue<string>() == survivorPeer);
        }, () => "the survivor never became a provider of the moved DID");

        var after = await WriteUntilReceivedAsync(api, apiKey, moving, js, "after", survivor);
        Assert.Equal(survivorPeer, after["from"]!.GetValue<string>());

        // Nothing is missed: every notice verifies, and the latest one's head is reached by pulling, over /vivim/sync from
        // the survivor, every update since the replica's seq — the take-over's commit included — each one checked.
        var commits = (await js.CommandAsync(new JsonObject { ["cmd"] = "commits", ["did"] = moving }, ct))["commits"]!.AsArray();
        Assert.All(commits, c => Assert.True(c!["verified"]!.GetValue<bool>(), c.ToJsonString()));
        var noticed = commits.Max(c => (long)c!["toSeq"]!.GetValue<double>());
        Assert.True(noticed > gapSeq, $"the last notice is seq {noticed}, the take-over wrote {gapSeq}");
        var pulled = await js.CommandAsync(new JsonObject { ["cmd"] = "sync", ["peer"] = survivorPeer, ["cloneId"] = cloneId, ["parentDid"] = moving }, ct);
        Assert.Null(pulled["error"]);
        Assert.True((long)pulled["seq"]!.GetValue<double>() >= noticed, pulled.ToJsonString());
        Assert.Equal(commits.Last(c => (long)c!["toSeq"]!.GetValue<double>() == noticed)!["root"]!.GetValue<string>(), RootAt(pulled, noticed));
        Assert.True((long)pulled["checked"]!["updateHashes"]!.GetValue<double>() >= noticed - (long)start["seq"]!.GetValue<double>(), pulled.ToJsonString());
        Assert.True(movedAfter < TimeSpan.FromSeconds(45), $"the DID moved {movedAfter.TotalSeconds:0.0} s after the kill");
    }

    /// <summary>
    /// The take-over's write as a client makes it: until the death is declared, a call to a grain the killed silo held
    /// can time out (503, "retry"); retried with the same <c>updateId</c>, so one that did commit gets its receipt back.
    /// </summary>
    internal static async Task<long> WriteRetryingAsync(GatewayFixture api, string apiKey, string did, string updateId = "failover-gap")
    {
        using var http = api.CreateClient(apiKey);
        var body = new JsonObject
        {
            ["updates"] = new JsonArray(new JsonObject
            {
                ["type"] = "memory",
                ["operation"] = "create",
                ["path"] = "memoryIndex/failover/" + updateId,
                ["data"] = new JsonObject { ["during"] = "take-over" },
                ["updateId"] = updateId,
            }),
        };
        var deadline = DateTime.UtcNow + Until.Patience;
        while (true)
        {
            using var response = await http.PostAsync($"/v1/exit-nodes/{did}/updates", GatewayFixture.Json(body.DeepClone()));
            var text = await response.Content.ReadAsStringAsync();
            if (response.IsSuccessStatusCode)
            {
                return JsonNode.Parse(text)!["receipts"]!.AsArray()[^1]!["seq"]!.GetValue<long>();
            }

            Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable && DateTime.UtcNow < deadline, text);
            await Task.Delay(500);
        }
    }

    // The pull ends at the head; the last notice is the head unless something was written after it (nothing is here).
    private static string RootAt(JsonObject pulled, long seq) =>
        (long)pulled["seq"]!.GetValue<double>() == seq ? pulled["root"]!.GetValue<string>() : throw new InvalidOperationException($"the pull went past seq {seq}");

    private static string Tail(string text) => text.Length <= 8000 ? text : text[^8000..];

    internal static async Task<(string PeerId, string Address)> P2pAsync(Uri gateway)
    {
        using var http = new HttpClient { BaseAddress = gateway };
        var p2p = JsonNode.Parse(await http.GetStringAsync("/v1/p2p"))!;
        var peer = p2p["peerId"]!.GetValue<string>();
        return (peer, p2p["multiaddrs"]![0]!.GetValue<string>() + "/p2p/" + peer);
    }

    /// <summary>Waits until the DID's advertisement names a peer that <paramref name="accept"/>s; returns it.</summary>
    internal static async Task<string> AdvertisedPeerAsync(GatewayFixture api, string did, Func<string, bool> accept)
    {
        var peer = string.Empty;
        using var http = api.CreateClient();
        await Until.TrueAsync(async () =>
        {
            peer = JsonNode.Parse(await http.GetStringAsync($"/v1/exit-nodes/{did}/advertisement"))!["peerId"]!.GetValue<string>();
            return accept(peer);
        }, () => $"{did}'s advertisement names '{peer}'");
        return peer;
    }

    /// <summary>
    /// Owner writes until one's commit reaches the subscriber (the owning gateway publishes only once it saw the
    /// subscription); returns that commit as the subscriber received it.
    /// </summary>
    private static async Task<JsonObject> WriteUntilReceivedAsync(GatewayFixture api, string apiKey, string did, JsPeer js, string label, HostProcess publisher)
    {
        JsonObject? received = null;
        var n = 0;
        await Until.TrueAsync(async () =>
        {
            var seq = await GatewayTestKit.WriteAsync(api, apiKey, did, ($"memoryIndex/failover/{label}-{n++}", "{}"));
            for (var i = 0; i < 20 && received is null; i++)
            {
                var commits = (await js.CommandAsync(new JsonObject { ["cmd"] = "commits", ["did"] = did }, CancellationToken.None))["commits"]!.AsArray();
                received = commits.LastOrDefault(c => (long)c!["toSeq"]!.GetValue<double>() == seq)?.AsObject();
                await Task.Delay(100);
            }

            return received is not null;
        }, () => $"no commit of {did} reached the subscriber ({label} the kill); the publishing gateway's log:\n{Tail(publisher.Output)}");
        return received!;
    }
}
