using Vivim.Protocol.Discovery;
using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Vivim.Gateway.Hosting;
using Vivim.Gateway.P2p;
using Vivim.Gateway.P2p.Discovery;
using Vivim.Libp2p.Core;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Signatures;
using Vivim.Tests.Libp2p;
using Vivim.Tests.Support;

namespace Vivim.Tests.Gateway.P2p;

/// <summary>
/// The all-in-one gateway (SQLite, real Kestrel) with its libp2p peer, against real js-libp2p Kad-DHT nodes: an exit
/// node is found on the DHT, its advertisement and registration answers name the providing gateway, and deleting it
/// withdraws the records.
/// </summary>
[Collection("libp2p-interop")]
public sealed class DiscoveryInteropTests
{
    [Fact]
    public async Task A_js_dht_node_finds_the_gateway_as_provider_also_through_a_second_node_and_the_advertisement_names_it()
    {
        JsPeer.EnsureInstalled();
        using var cts = TestUtil.InteropTimeout();
        await using var peer = await TestGatewayPeer.StartAsync();
        await using var node = await P2pGateway.StartAsync(peer.Peer);
        var gateway = GatewayFixture.At(node.BaseAddress);
        var announcer = node.App.Services.GetRequiredService<DidAnnouncer>();
        var outcomes = new ConcurrentQueue<ProvideOutcome>();
        announcer.Queue.Provided += (_, o) => outcomes.Enqueue(o);

        // Created while the gateway has no DHT peer: provided (it answers for itself) but reaching nobody.
        var (_, apiKey) = await gateway.CreateTenantAsync("p2p");
        var did = await gateway.CreateExitNodeAsync(apiKey, new JsonObject { ["capabilities"] = new JsonArray("storage", "memory") });
        var key = DiscoveryKeys.ExitNode(did);
        await TestUtil.UntilAsync(() => outcomes.Any(o => o.Key.SequenceEqual(key) && o.Told == 0), cts.Token);

        // A DHT peer arrives: the gateway provides again, and this time the record reaches it.
        await using var js1 = await JsPeer.StartAsync(cts.Token, "peer.mjs", "--dht");
        await using var js2 = await JsPeer.StartAsync(cts.Token, "peer.mjs", "--dht");
        await peer.Peer.Host.DialAsync(js1.Addrs[0], cts.Token);
        await TestUtil.UntilAsync(() => outcomes.Any(o => o.Key.SequenceEqual(key) && o.Told >= 1), cts.Token);

        // js2 knows only js1: it finds the gateway through the DHT.
        await js2.CommandAsync(new JsonObject { ["cmd"] = "dial", ["addr"] = js1.Addrs[0] }, cts.Token);
        await TestUtil.UntilAsync(async () => (await js2.CommandAsync(new JsonObject { ["cmd"] = "dhtTable", ["peers"] = new JsonArray(js1.PeerId) }, cts.Token))["present"]!.AsArray().Count == 1, cts.Token);
        var announce = peer.Peer.AnnounceAddresses.Select(a => a.ToString()).ToList();
        foreach (var js in new[] { js2, js1 })
        {
            var found = await js.CommandAsync(new JsonObject { ["cmd"] = "dhtFindProviders", ["mh"] = Convert.ToHexStringLower(key) }, cts.Token);
            var provider = Assert.Single(found["providers"]!.AsArray());
            Assert.Equal(peer.Peer.PeerId.ToString(), provider!["peer"]!.GetValue<string>());
            Assert.Contains(announce[0], provider["addrs"]!.AsArray().Select(a => a!.GetValue<string>().Split("/p2p/")[0]));
        }

        // The advertisement names the provider, and its v2 proof still verifies.
        using var anonymous = gateway.CreateClient();
        var advertisement = ProtocolJson.ParseObject(await anonymous.GetStringAsync($"/v1/exit-nodes/{did}/advertisement", cts.Token));
        Assert.Equal(peer.Peer.PeerId.ToString(), advertisement["peerId"]!.GetValue<string>());
        Assert.Equal(announce, advertisement["multiaddrs"]!.AsArray().Select(a => a!.GetValue<string>()));
        Assert.DoesNotContain(announce, a => a.Contains("/p2p/", StringComparison.Ordinal));
        Assert.True(SignatureV2.Verify(SignedKind.ExitNodeAdvertisement, advertisement, DidKey.Parse(did).PublicKey));
        Assert.Equal("/vivim/clone/1.0.0", advertisement["endpoints"]!["clone"]!.GetValue<string>());

        // A registration answer names the gateway's HTTP base URL and its libp2p address.
        var clone = await GatewayTestKit.RegisterAsync(gateway, did);
        Assert.Equal(node.BaseAddress.ToString().TrimEnd('/'), clone.Response["endpoints"]!["api"]!.GetValue<string>());
        Assert.Equal(announce[0] + "/p2p/" + peer.Peer.PeerId, clone.Response["endpoints"]!["p2p"]!.GetValue<string>());

        // Deleted: withdrawn, and the gateway no longer names itself as provider.
        using (var owner = gateway.CreateClient(apiKey))
        {
            using var deleted = await owner.DeleteAsync($"/v1/exit-nodes/{did}", cts.Token);
            Assert.True(deleted.IsSuccessStatusCode);
        }

        await TestUtil.UntilAsync(() => !announcer.AnnouncedDids.Contains(did), cts.Token);
        Assert.DoesNotContain(peer.Peer.Dht.ProvidedKeys, k => k.SequenceEqual(key));
        Assert.DoesNotContain(peer.Peer.Dht.ProvidedKeys, k => k.SequenceEqual(DiscoveryKeys.SyncTopic(did)));
        Assert.Empty(peer.Peer.Dht.Providers.Get(key));
    }
}
