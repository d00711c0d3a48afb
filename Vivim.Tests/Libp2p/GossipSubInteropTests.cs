using System.Text;
using System.Text.Json.Nodes;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Libp2p.Protocols.Pubsub;

namespace Vivim.Tests.Libp2p;

/// <summary>GossipSub v1.1 in a mixed network with js-libp2p 3.x + @libp2p/gossipsub 17.1.1 (StrictSign, default message ids on both sides).</summary>
[Collection("libp2p-interop")]
public class GossipSubInteropTests
{
    private const string Topic = "vivim/interop";

    private sealed class Node
    {
        public Libp2pHost? Host;
        public GossipSub? Gs;
        public JsPeer? Js;
        public string Name = "";
        public string PeerId => Host?.PeerId.ToString() ?? Js!.PeerId;
        public string Addr => Host is not null ? Host.ListenAddresses[0].WithPeerId(Host.PeerId).ToString() : Js!.Addrs[0];
        public readonly List<GossipMessage> Got = [];
    }

    private static async Task<IReadOnlyList<string>> MeshAsync(Node n, CancellationToken ct)
    {
        if (n.Gs is not null)
        {
            return [.. n.Gs.MeshPeers(Topic).Select(p => p.ToString())];
        }
        var r = await n.Js!.CommandAsync(new JsonObject { ["cmd"] = "gsMesh", ["topic"] = Topic }, ct);
        return [.. r["mesh"]!.AsArray().Select(x => x!.GetValue<string>())];
    }

    private static async Task WaitMeshedAsync(Node a, Node b, CancellationToken ct)
    {
        await TestUtil.UntilAsync(async () => (await MeshAsync(a, ct)).Contains(b.PeerId) && (await MeshAsync(b, ct)).Contains(a.PeerId), ct);
    }

    private static async Task ConnectAsync(Node a, Node b, CancellationToken ct)
    {
        if (a.Host is not null)
        {
            await a.Host.DialAsync(b.Addr, ct);
        }
        else
        {
            await a.Js!.CommandAsync(new JsonObject { ["cmd"] = "dial", ["addr"] = b.Addr }, ct);
        }
    }

    private static async Task PublishAsync(Node n, string prefix, int count, CancellationToken ct)
    {
        if (n.Gs is not null)
        {
            for (var i = 0; i < count; i++)
            {
                await n.Gs.PublishAsync(Topic, Encoding.UTF8.GetBytes(prefix + i), ct);
            }
        }
        else
        {
            await n.Js!.CommandAsync(new JsonObject { ["cmd"] = "gsPublish", ["topic"] = Topic, ["prefix"] = prefix, ["count"] = count }, ct);
        }
    }

    /// <summary>All data strings a node has received so far (C#: drains its channel into <see cref="Node.Got"/>).</summary>
    private static async Task<List<string>> ReceivedAsync(Node n, CancellationToken ct)
    {
        if (n.Gs is not null)
        {
            while (n.Gs.Messages.TryRead(out var m))
            {
                n.Got.Add(m);
            }
            return [.. n.Got.Select(m => Encoding.UTF8.GetString(m.Data))];
        }
        var r = await n.Js!.CommandAsync(new JsonObject { ["cmd"] = "gsReceived", ["topic"] = Topic }, ct);
        return [.. r["messages"]!.AsArray().Select(x => x!["data"]!.GetValue<string>())];
    }

    private static async Task<int> CountAsync(Node n, CancellationToken ct)
    {
        if (n.Gs is not null)
        {
            return (await ReceivedAsync(n, ct)).Count;
        }
        var r = await n.Js!.CommandAsync(new JsonObject { ["cmd"] = "gsReceived", ["topic"] = Topic, ["countOnly"] = true }, ct);
        return r["count"]!.GetValue<int>();
    }

    private static async Task WaitCountAsync(Node n, int expected, CancellationToken ct)
    {
        var last = 0;
        try
        {
            await TestUtil.UntilAsync(async () => (last = await CountAsync(n, ct)) >= expected, ct);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"{n.Name} has {last} messages, expected {expected}");
        }
    }

    [Fact]
    public async Task MixedNetwork_MeshForms_ThousandsDeliveredExactlyOnce_RejectNotForwarded_LeaverPrunedAndMeshHeals()
    {
        using var cts = TestUtil.InteropTimeout();
        var ct = cts.Token;
        var nodes = new List<Node>();
        try
        {
            // line C0 - J0 - C1 - J1 - C2 - J2
            for (var i = 0; i < 3; i++)
            {
                var host = TestUtil.NewHost();
                var gs = new GossipSub(host, GossipSubTests.FastOptions());
                await host.StartAsync(ct);
                nodes.Add(new Node { Host = host, Gs = gs, Name = "C" + i });
                nodes.Add(new Node { Js = await JsPeer.StartAsync(ct, "peer.mjs", "--gossip", "--heartbeat=200"), Name = "J" + i });
            }
            foreach (var n in nodes)
            {
                if (n.Gs is not null)
                {
                    n.Gs.Subscribe(Topic);
                }
                else
                {
                    await n.Js!.CommandAsync(new JsonObject { ["cmd"] = "gsSubscribe", ["topic"] = Topic }, ct);
                }
            }
            for (var i = 0; i + 1 < nodes.Count; i++)
            {
                await ConnectAsync(nodes[i], nodes[i + 1], ct);
            }
            for (var i = 0; i + 1 < nodes.Count; i++)
            {
                await WaitMeshedAsync(nodes[i], nodes[i + 1], ct);
            }

            // C1 (a C# relay in the middle) rejects "bad…"
            nodes[2].Gs!.AddValidator(Topic, m => m.Data.AsSpan().StartsWith("bad"u8) ? ValidationResult.Reject : ValidationResult.Accept);

            const int count = 1000;
            const int batch = 100;
            var c0 = nodes[0];
            var j2 = nodes[5];
            // Both ends publish in batches, each once the other end has the previous one: js's gossipsub writes to its
            // outbound streams without backpressure and loses messages when their buffers overflow, which a loaded
            // machine (slow readers, thousands queued) makes happen. Paced by delivery, the buffers stay small.
            for (var b = 0; b < count / batch; b++)
            {
                await Task.WhenAll(PublishAsync(c0, $"cs-{b}-", batch, ct), PublishAsync(j2, $"js-{b}-", batch, ct));
                await Task.WhenAll(WaitCountAsync(c0, (b + 1) * batch, ct), WaitCountAsync(j2, (b + 1) * batch, ct));
            }
            static IEnumerable<string> Batched(string side) =>
                Enumerable.Range(0, count / batch).SelectMany(b => Enumerable.Range(0, batch).Select(i => $"{side}-{b}-{i}"));
            await PublishAsync(c0, "bad-", 1, ct);
            // a fence from each end, published last: on a line every hop forwards in order on one stream, so a node
            // that has the fences has everything sent before them, including a "bad-0" wrongly forwarded by C1
            await Task.WhenAll(PublishAsync(c0, "fence-cs-", 1, ct), PublishAsync(j2, "fence-js-", 1, ct));
            var expectedCs = Batched("cs").Append("fence-cs-0").ToHashSet();
            var expectedJs = Batched("js").Append("fence-js-0").ToHashSet();
            foreach (var n in nodes)
            {
                // C0 and J2 get the other side's 1000 and fence; J0 also gets "bad-0"; everyone else gets 2000 and both fences
                var expected = n == c0 || n == j2 ? count + 1 : n == nodes[1] ? 2 * count + 3 : 2 * count + 2;
                await WaitCountAsync(n, expected, ct);
            }
            foreach (var n in nodes)
            {
                var got = await ReceivedAsync(n, ct);
                var want = new HashSet<string>();
                if (n != c0)
                {
                    want.UnionWith(expectedCs);
                }
                if (n != j2)
                {
                    want.UnionWith(expectedJs);
                }
                if (n == nodes[1])
                {
                    want.Add("bad-0"); // J0 has no validator and is before the rejecting relay
                }
                Assert.True(got.Count == want.Count, $"{n.Name}: got {got.Count} messages, want {want.Count}");
                Assert.Equal(want, got.ToHashSet());
            }
            // C# sees js's author; both sides compute the same message ids (js default StrictSign id = ours)
            var fromJs = nodes[4].Got.Where(m => Encoding.UTF8.GetString(m.Data).StartsWith("js-", StringComparison.Ordinal)).ToList();
            Assert.All(fromJs, m => Assert.Equal(j2.PeerId, m.From!.ToString()));
            Assert.Equal(count, fromJs.Select(m => m.Seqno).Distinct().Count());
            var idsAtJ1 = (await nodes[3].Js!.CommandAsync(new JsonObject { ["cmd"] = "gsReceived", ["topic"] = Topic }, ct))["messages"]!.AsArray()
                .ToDictionary(x => x!["data"]!.GetValue<string>(), x => x!["msgId"]!.GetValue<string>());
            static string B64(byte[] id) => Convert.ToBase64String(id).TrimEnd('=');
            foreach (var m in nodes[2].Got.Concat(nodes[4].Got))
            {
                Assert.Equal(idsAtJ1[Encoding.UTF8.GetString(m.Data)], B64(m.Id));
            }

            // close the ring (J2 - C0), then J0 leaves: its neighbours prune it and messages go the other way round
            await ConnectAsync(j2, c0, ct);
            await WaitMeshedAsync(j2, c0, ct);
            var j0 = nodes[1];
            var j0Id = j0.PeerId;
            await j0.Js!.DisposeAsync();
            nodes.Remove(j0);
            var c1 = nodes[1];
            await TestUtil.UntilAsync(async () => !(await MeshAsync(c0, ct)).Contains(j0Id) && !(await MeshAsync(c1, ct)).Contains(j0Id), ct);
            Assert.Contains(j2.PeerId, await MeshAsync(c0, ct));
            var before = new Dictionary<Node, int>();
            foreach (var n in nodes)
            {
                before[n] = await CountAsync(n, ct);
            }
            await PublishAsync(c1, "after-cs-", 100, ct);
            await PublishAsync(nodes[2], "after-js-", 100, ct); // J1
            // fences again (the network is a line again: C1 - J1 - C2 - J2 - C0)
            await Task.WhenAll(PublishAsync(c1, "after-fence-cs-", 1, ct), PublishAsync(nodes[2], "after-fence-js-", 1, ct));
            static int Added(Node n, Node c1, Node j1) => n == c1 || n == j1 ? 101 : 202;
            foreach (var n in nodes)
            {
                await WaitCountAsync(n, before[n] + Added(n, c1, nodes[2]), ct);
            }
            foreach (var n in nodes)
            {
                var got = await ReceivedAsync(n, ct);
                var add = Added(n, c1, nodes[2]);
                Assert.Equal(before[n] + add, got.Count);
                Assert.Equal(got.Count, got.Distinct().Count());
            }
        }
        finally
        {
            foreach (var n in nodes)
            {
                if (n.Gs is not null)
                {
                    await n.Gs.DisposeAsync();
                    await n.Host!.DisposeAsync();
                }
                if (n.Js is not null)
                {
                    await n.Js.DisposeAsync();
                }
            }
        }
    }
}
