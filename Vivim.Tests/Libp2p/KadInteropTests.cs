using System.Text.Json.Nodes;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Libp2p.Protocols.Kad;

namespace Vivim.Tests.Libp2p;

/// <summary>Kademlia FIND_NODE against js-libp2p 3.x with @libp2p/kad-dht 16.4.5 (server mode, passthrough mapper).</summary>
[Collection("libp2p-interop")]
public class KadInteropTests
{
    private static async Task WaitInJsTableAsync(JsPeer js, string peer, CancellationToken ct)
    {
        await TestUtil.UntilAsync(async () => (await js.CommandAsync(new JsonObject { ["cmd"] = "dhtTable", ["peers"] = new JsonArray(peer) }, ct))["present"]!.AsArray().Count == 1, ct);
    }

    [Fact]
    public async Task CSharpClient_FindNodeOnJs_LearnsJsNeighbour_ThenFindsAndDialsIt()
    {
        using var cts = TestUtil.InteropTimeout();
        await using var js1 = await JsPeer.StartAsync(cts.Token, "peer.mjs", "--dht");
        await using var js2 = await JsPeer.StartAsync(cts.Token, "peer.mjs", "--dht");
        await js1.CommandAsync(new JsonObject { ["cmd"] = "dial", ["addr"] = js2.Addrs[0] }, cts.Token);
        await WaitInJsTableAsync(js1, js2.PeerId, cts.Token);

        await using var host = TestUtil.NewHost();
        using var dht = new KadDht(host);
        await host.StartAsync(cts.Token);
        var js1Id = PeerId.Parse(js1.PeerId);
        var js2Id = PeerId.Parse(js2.PeerId);
        await host.DialAsync(js1.Addrs[0], cts.Token);
        // js adds us because our identify advertises /ipfs/kad/1.0.0; we add js for the same reason
        await WaitInJsTableAsync(js1, host.PeerId.ToString(), cts.Token);
        await TestUtil.UntilAsync(() => dht.RoutingTable.Find(js1Id) is not null, cts.Token);

        var closer = await dht.FindNodeAsync(js1Id, js2Id.ToByteArray(), cts.Token);
        var js2Info = Assert.Single(closer, p => p.Peer == js2Id);
        Assert.Contains(js2Info.Addresses, a => a.WithoutPeerId().WithPeerId(js2Id).ToString() == js2.Addrs[0]);

        var found = await dht.FindPeerAsync(js2Id, cts.Token);
        Assert.NotNull(found);
        Assert.Equal(js2Id, found.Peer);
        // the learned address is dialable: ping js2 through it
        TestUtil.AssertRoundTrip(await host.PingAsync(js2Id, cts.Token));

        var closest = await dht.GetClosestPeersAsync(RandomKey(), cts.Token);
        Assert.Contains(closest, p => p.Peer == js1Id);
        Assert.Contains(closest, p => p.Peer == js2Id);
    }

    private static byte[] RandomKey() => System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);

    [Fact]
    public async Task CSharpServer_AnswersJsFindPeer_ForAPeerOnlyCSharpKnows()
    {
        using var cts = TestUtil.InteropTimeout();
        await using var x = TestUtil.NewHost();
        using var xDht = new KadDht(x);
        await using var y = TestUtil.NewHost();
        using var yDht = new KadDht(y);
        await x.StartAsync(cts.Token);
        await y.StartAsync(cts.Token);
        await y.DialAsync(x.ListenAddresses[0].WithPeerId(x.PeerId), cts.Token);
        await TestUtil.UntilAsync(() => xDht.RoutingTable.Find(y.PeerId) is not null, cts.Token);

        await using var js = await JsPeer.StartAsync(cts.Token, "peer.mjs", "--dht");
        await js.CommandAsync(new JsonObject { ["cmd"] = "dial", ["addr"] = x.ListenAddresses[0].WithPeerId(x.PeerId).ToString() }, cts.Token);
        await WaitInJsTableAsync(js, x.PeerId.ToString(), cts.Token);

        var r = await js.CommandAsync(new JsonObject { ["cmd"] = "dhtFindPeer", ["peer"] = y.PeerId.ToString() }, cts.Token);
        Assert.Equal(y.PeerId.ToString(), r["peer"]!.GetValue<string>());
        Assert.Contains(y.ListenAddresses[0].ToString(), r["addrs"]!.AsArray().Select(a => a!.GetValue<string>().Split("/p2p/")[0]));

        var c = await js.CommandAsync(new JsonObject { ["cmd"] = "dhtClosest", ["key"] = Convert.ToHexStringLower(RandomKey()) }, cts.Token);
        var fromX = c["queried"]!.AsArray().Where(q => q!["from"]!.GetValue<string>() == x.PeerId.ToString()).ToList();
        Assert.NotEmpty(fromX); // js queried our server
        Assert.Contains(c["peers"]!.AsArray(), p => p!.GetValue<string>() == x.PeerId.ToString());
    }

    private static byte[] RandomMultihash() => [0x12, 0x20, .. System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)];

    [Fact]
    public async Task Providers_CSharpProvidesToJs_JsAndAnotherCSharpPeerFindIt()
    {
        using var cts = TestUtil.InteropTimeout();
        await using var js1 = await JsPeer.StartAsync(cts.Token, "peer.mjs", "--dht");
        await using var js2 = await JsPeer.StartAsync(cts.Token, "peer.mjs", "--dht");
        await js2.CommandAsync(new JsonObject { ["cmd"] = "dial", ["addr"] = js1.Addrs[0] }, cts.Token);
        await WaitInJsTableAsync(js2, js1.PeerId, cts.Token);

        await using var x = TestUtil.NewHost();
        using var xDht = new KadDht(x);
        await x.StartAsync(cts.Token);
        await x.DialAsync(js1.Addrs[0], cts.Token);
        await WaitInJsTableAsync(js1, x.PeerId.ToString(), cts.Token);
        await TestUtil.UntilAsync(() => xDht.RoutingTable.Find(PeerId.Parse(js1.PeerId)) is not null, cts.Token);

        var mh = RandomMultihash();
        Assert.True(await xDht.ProvideAsync(mh, cts.Token) >= 1); // ADD_PROVIDER reached js1 at least

        // js2 only knows js1: its lookup must get our record from js1
        var r = await js2.CommandAsync(new JsonObject { ["cmd"] = "dhtFindProviders", ["mh"] = Convert.ToHexStringLower(mh) }, cts.Token);
        var prov = Assert.Single(r["providers"]!.AsArray());
        Assert.Equal(x.PeerId.ToString(), prov!["peer"]!.GetValue<string>());
        Assert.Contains(x.ListenAddresses[0].ToString(), prov["addrs"]!.AsArray().Select(a => a!.GetValue<string>().Split("/p2p/")[0]));

        // a second C# node that only knows js1 finds x through GET_PROVIDERS, and can dial it
        await using var y = TestUtil.NewHost();
        using var yDht = new KadDht(y);
        await y.StartAsync(cts.Token);
        await y.DialAsync(js1.Addrs[0], cts.Token);
        await TestUtil.UntilAsync(() => yDht.RoutingTable.Find(PeerId.Parse(js1.PeerId)) is not null, cts.Token);
        var found = await yDht.FindProvidersAsync(mh, 5, cts.Token);
        Assert.Contains(found, p => p.Peer == x.PeerId);
        TestUtil.AssertRoundTrip(await y.PingAsync(x.PeerId, cts.Token));
    }

    [Fact]
    public async Task Providers_JsProvides_CSharpServerStoresAndServesTheRecord()
    {
        using var cts = TestUtil.InteropTimeout();
        await using var x = TestUtil.NewHost();
        using var xDht = new KadDht(x);
        await x.StartAsync(cts.Token);
        await using var js = await JsPeer.StartAsync(cts.Token, "peer.mjs", "--dht");
        await js.CommandAsync(new JsonObject { ["cmd"] = "dial", ["addr"] = x.ListenAddresses[0].WithPeerId(x.PeerId).ToString() }, cts.Token);
        await WaitInJsTableAsync(js, x.PeerId.ToString(), cts.Token);

        var mh = RandomMultihash();
        var p = await js.CommandAsync(new JsonObject { ["cmd"] = "dhtProvide", ["mh"] = Convert.ToHexStringLower(mh) }, cts.Token);
        var jsId = PeerId.Parse(js.PeerId);
        // our server stored js as provider (ADD_PROVIDER handler)
        await TestUtil.UntilAsync(() => xDht.Providers.Get(mh).Count > 0, cts.Token);
        var rec = Assert.Single(xDht.Providers.Get(mh));
        Assert.Equal(jsId, rec.Peer);
        Assert.Contains(rec.Addresses, a => a.WithPeerId(jsId).ToString() == js.Addrs[0]);

        // another C# peer that only knows x gets the record from x over GET_PROVIDERS
        await using var y = TestUtil.NewHost();
        using var yDht = new KadDht(y);
        await y.DialAsync(x.ListenAddresses[0].WithPeerId(x.PeerId), cts.Token);
        await TestUtil.UntilAsync(() => yDht.RoutingTable.Find(x.PeerId) is not null, cts.Token);
        var found = await yDht.FindProvidersAsync(mh, 5, cts.Token);
        Assert.Contains(found, f => f.Peer == jsId);
        // js's provide query went through our FIND_NODE server
        Assert.Contains(p["told"]!.AsArray(), t => t!.GetValue<string>() == x.PeerId.ToString());
    }
}
