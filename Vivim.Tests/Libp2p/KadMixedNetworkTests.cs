using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Libp2p.Protocols.Kad;

namespace Vivim.Tests.Libp2p;

/// <summary>
/// Kademlia across implementations in one network of 3 C# and 3 js nodes, connected only in a line
/// C0 – J0 – C1 – J1 – C2 – J2, so that every lookup has to walk through both implementations.
/// </summary>
[Collection("libp2p-interop")]
public class KadMixedNetworkTests
{
    private sealed class Node
    {
        public Libp2pHost? Host;
        public KadDht? Dht;
        public JsPeer? Js;

        public string PeerId => Host?.PeerId.ToString() ?? Js!.PeerId;

        public string Addr => Host is not null ? Host.ListenAddresses[0].WithPeerId(Host.PeerId).ToString() : Js!.Addrs[0];
    }

    private static async Task<bool> KnowsAsync(Node n, string peer, CancellationToken ct)
    {
        if (n.Dht is not null)
        {
            return n.Dht.RoutingTable.Find(Vivim.Libp2p.Core.PeerId.Parse(peer)) is not null;
        }

        var r = await n.Js!.CommandAsync(new JsonObject { ["cmd"] = "dhtTable", ["peers"] = new JsonArray(peer) }, ct);
        return r["present"]!.AsArray().Count == 1;
    }

    private static byte[] Multihash(string text) => [0x12, 0x20, .. SHA256.HashData(Encoding.UTF8.GetBytes(text))];

    [Fact]
    public async Task Lookups_providers_and_values_cross_both_implementations()
    {
        using var cts = TestUtil.InteropTimeout();
        var ct = cts.Token;
        var nodes = new List<Node>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var host = TestUtil.NewHost();
                var dht = new KadDht(host, new KadOptions { Validators = { ["vivim"] = new VersionedValidator() } });
                await host.StartAsync(ct);
                nodes.Add(new Node { Host = host, Dht = dht });
                nodes.Add(new Node { Js = await JsPeer.StartAsync(ct, "peer.mjs", "--dht") });
            }

            for (var i = 0; i + 1 < nodes.Count; i++)
            {
                var (left, right) = (nodes[i], nodes[i + 1]);
                if (left.Host is not null)
                {
                    await left.Host.DialAsync(right.Addr, ct);
                }
                else
                {
                    await left.Js!.CommandAsync(new JsonObject { ["cmd"] = "dial", ["addr"] = right.Addr }, ct);
                }

                await TestUtil.UntilAsync(async () => await KnowsAsync(left, right.PeerId, ct) && await KnowsAsync(right, left.PeerId, ct), ct);
            }

            var (c0, j2) = (nodes[0], nodes[5]);
            Assert.False(await KnowsAsync(c0, j2.PeerId, ct), "C0 must learn of J2 only by walking");

            // FIND_NODE walks: C0 reaches J2 and J2 reaches C0, five hops apart, each path alternating implementations.
            var closest = await c0.Dht!.GetClosestPeersAsync(Vivim.Libp2p.Core.PeerId.Parse(j2.PeerId).ToByteArray(), ct);
            Assert.Contains(closest, p => p.Peer.ToString() == j2.PeerId);
            var fromJs = await j2.Js!.CommandAsync(new JsonObject { ["cmd"] = "dhtClosest", ["peer"] = c0.PeerId }, ct);
            Assert.Contains(c0.PeerId, fromJs["peers"]!.AsArray().Select(p => p!.GetValue<string>()));

            // Providers both ways.
            var fromCSharp = Multihash("provided by C0 " + Guid.NewGuid());
            Assert.True(await c0.Dht.ProvideAsync(fromCSharp, ct) >= 1);
            var found = await j2.Js.CommandAsync(new JsonObject { ["cmd"] = "dhtFindProviders", ["mh"] = Convert.ToHexStringLower(fromCSharp) }, ct);
            Assert.Equal(c0.PeerId, Assert.Single(found["providers"]!.AsArray())!["peer"]!.GetValue<string>());

            var fromJsKey = Multihash("provided by J2 " + Guid.NewGuid());
            await j2.Js.CommandAsync(new JsonObject { ["cmd"] = "dhtProvide", ["mh"] = Convert.ToHexStringLower(fromJsKey) }, ct);
            var providers = await c0.Dht.FindProvidersAsync(fromJsKey, 5, ct);
            Assert.Contains(providers, p => p.Peer.ToString() == j2.PeerId);

            // Values under /vivim/ with the same validator and selector on both sides.
            var key = "/vivim/mixed-" + Guid.NewGuid().ToString("N");
            Assert.True(await c0.Dht.PutValueAsync(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes("v=1;from C#"), ct) >= 1);
            var got = await j2.Js.CommandAsync(new JsonObject { ["cmd"] = "dhtGet", ["key"] = key }, ct);
            Assert.Equal("v=1;from C#", got["value"]!.GetValue<string>());

            await j2.Js.CommandAsync(new JsonObject { ["cmd"] = "dhtPut", ["key"] = key, ["value"] = "v=2;from js" }, ct);
            var newest = await c0.Dht.GetValueAsync(Encoding.UTF8.GetBytes(key), ct);
            Assert.Equal("v=2;from js", Encoding.UTF8.GetString(newest!));
        }
        finally
        {
            foreach (var node in nodes)
            {
                node.Dht?.Dispose();
                if (node.Host is not null)
                {
                    await node.Host.DisposeAsync();
                }

                if (node.Js is not null)
                {
                    await node.Js.DisposeAsync();
                }
            }
        }
    }
}
