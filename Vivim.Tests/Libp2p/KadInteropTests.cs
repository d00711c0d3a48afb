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
        while (true)
        {
            var r = await js.CommandAsync(new JsonObject { ["cmd"] = "dhtTable", ["peers"] = new JsonArray(peer) }, ct);
            if (r["present"]!.AsArray().Count == 1)
            {
                return;
            }
            await Task.Delay(50, ct);
        }
    }

    [Fact]
    public async Task CSharpClient_FindNodeOnJs_LearnsJsNeighbour_ThenFindsAndDialsIt()
    {
        using var cts = TestUtil.Timeout(60);
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
        while (dht.RoutingTable.Find(js1Id) is null)
        {
            await Task.Delay(20, cts.Token);
        }

        var closer = await dht.FindNodeAsync(js1Id, js2Id.ToByteArray(), cts.Token);
        var js2Info = Assert.Single(closer, p => p.Peer == js2Id);
        Assert.Contains(js2Info.Addresses, a => a.WithoutPeerId().WithPeerId(js2Id).ToString() == js2.Addrs[0]);

        var found = await dht.FindPeerAsync(js2Id, cts.Token);
        Assert.NotNull(found);
        Assert.Equal(js2Id, found.Peer);
        // the learned address is dialable: ping js2 through it
        Assert.True(await host.PingAsync(js2Id, cts.Token) < TimeSpan.FromSeconds(5));

        var closest = await dht.GetClosestPeersAsync(RandomKey(), cts.Token);
        Assert.Contains(closest, p => p.Peer == js1Id);
        Assert.Contains(closest, p => p.Peer == js2Id);
    }

    private static byte[] RandomKey() => System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);

    [Fact]
    public async Task CSharpServer_AnswersJsFindPeer_ForAPeerOnlyCSharpKnows()
    {
        using var cts = TestUtil.Timeout(60);
        await using var x = TestUtil.NewHost();
        using var xDht = new KadDht(x);
        await using var y = TestUtil.NewHost();
        using var yDht = new KadDht(y);
        await x.StartAsync(cts.Token);
        await y.StartAsync(cts.Token);
        await y.DialAsync(x.ListenAddresses[0].WithPeerId(x.PeerId), cts.Token);
        while (xDht.RoutingTable.Find(y.PeerId) is null)
        {
            await Task.Delay(20, cts.Token);
        }

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
}
