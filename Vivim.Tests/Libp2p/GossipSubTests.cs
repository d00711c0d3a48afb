using System.Text;
using CsCheck;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Libp2p.Protocols.Pubsub;
using LimitExceededException = Vivim.Libp2p.Core.LimitExceededException;

namespace Vivim.Tests.Libp2p;

/// <summary>GossipSub RPC codec fuzzing, signatures, and mesh maintenance between C# nodes.</summary>
public class GossipSubTests
{
    private static void OnlyTyped(Action a)
    {
        try
        {
            a();
        }
        catch (MalformedDataException)
        {
        }
        catch (LimitExceededException)
        {
        }
    }

    private static PubsubRpc SampleRpc()
    {
        var rpc = new PubsubRpc();
        rpc.Subscriptions.Add(new PubsubSubOpts(true, "a"));
        rpc.Subscriptions.Add(new PubsubSubOpts(false, "b"));
        rpc.Messages.Add(new PubsubMessage { From = [0, 1, 2], Data = [9, 9], Seqno = new byte[8], Topic = "a", Signature = [7], Key = [8] });
        rpc.IHave.Add(new PubsubIHave("a", [[1, 2], [3]]));
        rpc.IWant.Add([4, 5]);
        rpc.Graft.Add(new PubsubGraft("a"));
        rpc.Prune.Add(new PubsubPrune("b", [[6, 6]], 60));
        return rpc;
    }

    [Fact]
    public void Rpc_RoundTrips()
    {
        var rpc = SampleRpc();
        var back = PubsubRpc.Decode(rpc.Encode());
        Assert.Equal(rpc.Subscriptions, back.Subscriptions);
        var m = Assert.Single(back.Messages);
        Assert.Equal("a", m.Topic);
        Assert.Equal([0, 1, 2], m.From);
        Assert.Equal([9, 9], m.Data);
        Assert.Equal([7], m.Signature);
        Assert.Equal([8], m.Key);
        Assert.Equal([[1, 2], [3]], Assert.Single(back.IHave).MessageIds);
        Assert.Equal([4, 5], Assert.Single(back.IWant));
        Assert.Equal("a", Assert.Single(back.Graft).Topic);
        var p = Assert.Single(back.Prune);
        Assert.Equal(60UL, p.BackoffSeconds);
        Assert.Equal([6, 6], Assert.Single(p.PeerIds));
        Assert.Equal(rpc.Encode(), back.Encode());
    }

    [Fact]
    public void Rpc_RandomBytesNeverCrash() =>
        Gen.Byte.Array[0, 400].Sample(b => OnlyTyped(() => PubsubRpc.Decode(b)), iter: 20000);

    [Fact]
    public void Rpc_MutatedValidRpcsNeverCrash()
    {
        var valid = SampleRpc().Encode();
        Gen.Select(Gen.Int[0, valid.Length - 1], Gen.Byte, Gen.Int[0, valid.Length]).Sample((pos, val, cut) =>
        {
            var b = (byte[])valid.Clone();
            b[pos] = val;
            OnlyTyped(() => PubsubRpc.Decode(b.AsSpan(0, cut)));
        }, iter: 20000);
    }

    [Fact]
    public void Rpc_LimitsAreEnforced()
    {
        var rpc = new PubsubRpc();
        for (var i = 0; i < 20; i++)
        {
            rpc.IWant.Add([(byte)i]);
        }
        Assert.Throws<LimitExceededException>(() => PubsubRpc.Decode(rpc.Encode(), new PubsubLimits { MaxIdsPerControl = 10 }));
        Assert.Throws<LimitExceededException>(() => PubsubRpc.Decode(new byte[100], new PubsubLimits { MaxRpcLength = 50 }));
        var big = new PubsubRpc();
        big.Subscriptions.Add(new PubsubSubOpts(true, new string('x', 2000)));
        Assert.Throws<LimitExceededException>(() => PubsubRpc.Decode(big.Encode()));
        // a message without topic is malformed
        Assert.Throws<MalformedDataException>(() => PubsubRpc.Decode([0x12, 0x02, 0x12, 0x00]));
    }

    [Fact]
    public void Signature_VerifiesAndDetectsTampering()
    {
        using var id = Ed25519Identity.Generate();
        var m = new PubsubMessage { From = id.PeerId.ToByteArray(), Data = "hi"u8.ToArray(), Seqno = [0, 0, 0, 0, 0, 0, 0, 1], Topic = "t" };
        m.Signature = id.Sign(GossipSub.SignedBytes(m));
        Assert.True(GossipSub.VerifySignature(m, out var author));
        Assert.Equal(id.PeerId, author);
        // default id = PublicKey protobuf || seqno (the identity peer id without its 2-byte prefix)
        Assert.Equal([.. id.PublicKey.ToProtobuf(), .. m.Seqno], GossipSub.DefaultMessageId(m));
        m.Data = "ho"u8.ToArray();
        Assert.False(GossipSub.VerifySignature(m, out _));
        m.Data = "hi"u8.ToArray();
        m.Seqno = [1];
        Assert.False(GossipSub.VerifySignature(m, out _));
    }

    internal static async Task<(Libp2pHost Host, GossipSub Gs)> NewNodeAsync(CancellationToken ct, GossipSubOptions? o = null)
    {
        var host = TestUtil.NewHost();
        var gs = new GossipSub(host, o ?? FastOptions());
        await host.StartAsync(ct);
        return (host, gs);
    }

    internal static GossipSubOptions FastOptions(int d = 6, int dlo = 4, int dhi = 12) => new()
    {
        D = d,
        Dlo = dlo,
        Dhi = dhi,
        Dout = Math.Min(2, dlo - 1),
        Dscore = Math.Min(4, d),
        HeartbeatInterval = TimeSpan.FromMilliseconds(200),
    };

    internal static async Task WaitUntilAsync(Func<bool> cond, CancellationToken ct)
    {
        while (!cond())
        {
            await Task.Delay(25, ct);
        }
    }

    [Fact]
    public async Task Mesh_FormsAndPrunesDownToD_WhenOversubscribed_PrunedPeersGetMessagesByGossip()
    {
        using var cts = TestUtil.Timeout(60);
        // no flood publish: pruned leaves can only get the hub's message through IHAVE/IWANT gossip
        var o = new GossipSubOptions { D = 3, Dlo = 2, Dhi = 4, Dout = 1, Dscore = 2, HeartbeatInterval = TimeSpan.FromMilliseconds(200), FloodPublish = false };
        var nodes = new List<(Libp2pHost Host, GossipSub Gs)>();
        try
        {
            for (var i = 0; i < 8; i++)
            {
                nodes.Add(await NewNodeAsync(cts.Token, o));
            }
            var hub = nodes[0];
            foreach (var n in nodes.Skip(1))
            {
                await n.Host.DialAsync(hub.Host.ListenAddresses[0].WithPeerId(hub.Host.PeerId), cts.Token);
            }
            foreach (var n in nodes)
            {
                n.Gs.Subscribe("t");
            }
            // the 7 leaves all graft the hub (their only peer); the hub keeps between Dlo and Dhi and prunes the rest
            await WaitUntilAsync(() => hub.Gs.TopicPeers("t").Count == 7, cts.Token);
            await Task.Delay(1500, cts.Token);
            var mesh = hub.Gs.MeshPeers("t");
            Assert.InRange(mesh.Count, o.Dlo, o.Dhi);
            var pruned = nodes.Skip(1).Where(n => !mesh.Contains(n.Host.PeerId)).ToList();
            Assert.NotEmpty(pruned);
            // pruned leaves have the hub in backoff and do not regraft it
            foreach (var n in pruned)
            {
                Assert.DoesNotContain(hub.Host.PeerId, n.Gs.MeshPeers("t"));
                Assert.True(n.Gs.IsBackedOff(hub.Host.PeerId, "t"));
            }
            // messages still reach every leaf: mesh leaves directly, pruned leaves via IHAVE -> IWANT at the next heartbeat
            Assert.Equal(mesh.Count, await hub.Gs.PublishAsync("t", "x"u8.ToArray(), cts.Token));
            foreach (var n in nodes.Skip(1))
            {
                var m = await n.Gs.Messages.ReadAsync(cts.Token);
                Assert.Equal("x", Encoding.UTF8.GetString(m.Data));
                Assert.Equal(hub.Host.PeerId, m.From);
            }
        }
        finally
        {
            foreach (var n in nodes)
            {
                await n.Gs.DisposeAsync();
                await n.Host.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Line_DeliversExactlyOnce_ValidatorRejectStopsForwarding_UnsubscribePrunes()
    {
        using var cts = TestUtil.Timeout(60);
        var nodes = new List<(Libp2pHost Host, GossipSub Gs)>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                nodes.Add(await NewNodeAsync(cts.Token));
            }
            for (var i = 0; i + 1 < nodes.Count; i++)
            {
                await nodes[i].Host.DialAsync(nodes[i + 1].Host.ListenAddresses[0].WithPeerId(nodes[i + 1].Host.PeerId), cts.Token);
            }
            foreach (var n in nodes)
            {
                n.Gs.Subscribe("t");
            }
            for (var i = 0; i + 1 < nodes.Count; i++)
            {
                var (a, b) = (nodes[i], nodes[i + 1]);
                await WaitUntilAsync(() => a.Gs.MeshPeers("t").Contains(b.Host.PeerId) && b.Gs.MeshPeers("t").Contains(a.Host.PeerId), cts.Token);
            }
            nodes[1].Gs.AddValidator("t", m => m.Data.AsSpan().StartsWith("bad"u8) ? ValidationResult.Reject : ValidationResult.Accept);
            const int count = 300;
            for (var i = 0; i < count; i++)
            {
                await nodes[0].Gs.PublishAsync("t", Encoding.UTF8.GetBytes("m" + i), cts.Token);
            }
            await nodes[0].Gs.PublishAsync("t", "bad"u8.ToArray(), cts.Token);
            await nodes[0].Gs.PublishAsync("t", "end"u8.ToArray(), cts.Token);
            foreach (var n in nodes.Skip(1))
            {
                var got = new List<string>();
                while (true)
                {
                    var m = await n.Gs.Messages.ReadAsync(cts.Token);
                    var s = Encoding.UTF8.GetString(m.Data);
                    if (s == "end")
                    {
                        break;
                    }
                    got.Add(s);
                }
                Assert.Equal(Enumerable.Range(0, count).Select(i => "m" + i), got);
            }
            // node 2 and 3 never saw "bad": node 1 rejected it and did not forward it
            await Task.Delay(500, cts.Token);
            Assert.False(nodes[2].Gs.Messages.TryRead(out _));

            nodes[3].Gs.Unsubscribe("t");
            await WaitUntilAsync(() => !nodes[2].Gs.MeshPeers("t").Contains(nodes[3].Host.PeerId), cts.Token);
            Assert.True(nodes[3].Gs.IsBackedOff(nodes[2].Host.PeerId, "t"));
        }
        finally
        {
            foreach (var n in nodes)
            {
                await n.Gs.DisposeAsync();
                await n.Host.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task GraftDuringBackoff_IsPenalized_GraylistedPeerIsIgnored_IgnoreResultDropsSilently()
    {
        using var cts = TestUtil.Timeout(30);
        var (ha, a) = await NewNodeAsync(cts.Token);
        var (hb, b) = await NewNodeAsync(cts.Token);
        try
        {
            await hb.DialAsync(ha.ListenAddresses[0].WithPeerId(ha.PeerId), cts.Token);
            a.Subscribe("t");
            b.Subscribe("t");
            await WaitUntilAsync(() => a.MeshPeers("t").Contains(hb.PeerId) && b.MeshPeers("t").Contains(ha.PeerId), cts.Token);

            // validator Ignore: not delivered, no P4 penalty
            a.AddValidator("t", m => m.Data.AsSpan().StartsWith("skip"u8) ? ValidationResult.Ignore : ValidationResult.Accept);
            await b.PublishAsync("t", "skip"u8.ToArray(), cts.Token);
            await b.PublishAsync("t", "one"u8.ToArray(), cts.Token);
            Assert.Equal("one", Encoding.UTF8.GetString((await a.Messages.ReadAsync(cts.Token)).Data));
            Assert.True(a.GetScore(hb.PeerId) >= 0);

            // b leaves the topic: its PRUNE puts a backoff on a's side; a GRAFT within it is refused and penalized
            b.Unsubscribe("t");
            await WaitUntilAsync(() => a.IsBackedOff(hb.PeerId, "t") && !a.MeshPeers("t").Contains(hb.PeerId), cts.Token);
            var graft = new PubsubRpc();
            graft.Graft.Add(new PubsubGraft("t"));
            a.HandleRpc(hb.PeerId, graft);
            Assert.DoesNotContain(hb.PeerId, a.MeshPeers("t"));
            Assert.True(a.GetScore(hb.PeerId) < 0);

            // graylisted: nothing b sends is processed any more
            a.AddBehaviourPenalty(hb.PeerId, 10);
            Assert.True(a.GetScore(hb.PeerId) < a.Options.Score.GraylistThreshold);
            Assert.Equal(1, await b.PublishAsync("t", "two"u8.ToArray(), cts.Token)); // b still sends to a (fanout/flood)
            await Task.Delay(500, cts.Token);
            Assert.False(a.Messages.TryRead(out _));
        }
        finally
        {
            await a.DisposeAsync();
            await b.DisposeAsync();
            await ha.DisposeAsync();
            await hb.DisposeAsync();
        }
    }

    [Fact]
    public void KadRecord_RandomBytesNeverCrash() =>
        Gen.Byte.Array[0, 200].Sample(b => OnlyTyped(() => Vivim.Libp2p.Protocols.Kad.KadRecord.Decode(b)), iter: 20000);

    [Fact]
    public async Task MalformedRpcOnAStream_EndsOnlyThatStream_RouterKeepsWorking()
    {
        using var cts = TestUtil.Timeout(30);
        var (ha, a) = await NewNodeAsync(cts.Token);
        var (hb, b) = await NewNodeAsync(cts.Token);
        try
        {
            await hb.DialAsync(ha.ListenAddresses[0].WithPeerId(ha.PeerId), cts.Token);
            a.Subscribe("t");
            b.Subscribe("t");
            await WaitUntilAsync(() => a.MeshPeers("t").Contains(hb.PeerId), cts.Token);
            // a second, hostile meshsub stream from b: a length prefix over the limit, then garbage
            await using (var s = await hb.NewStreamAsync(ha.PeerId, GossipSub.ProtocolV11, cts.Token))
            {
                await Varint.WriteLengthPrefixedAsync(s, new byte[] { 0xFF, 0xFF, 0xFF }, cts.Token);
                await s.FlushAsync(cts.Token);
            }
            await Task.Delay(200, cts.Token);
            await b.PublishAsync("t", "still"u8.ToArray(), cts.Token);
            Assert.Equal("still", Encoding.UTF8.GetString((await a.Messages.ReadAsync(cts.Token)).Data));
        }
        finally
        {
            await a.DisposeAsync();
            await b.DisposeAsync();
            await ha.DisposeAsync();
            await hb.DisposeAsync();
        }
    }
}
