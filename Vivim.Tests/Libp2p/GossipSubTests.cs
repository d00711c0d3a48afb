using System.Security.Cryptography;
using System.Text;
using CsCheck;
using Microsoft.Extensions.Time.Testing;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Libp2p.Protocols.Pubsub;
using LimitExceededException = Vivim.Libp2p.Core.LimitExceededException;

namespace Vivim.Tests.Libp2p;

/// <summary>GossipSub RPC codec fuzzing, signatures, and mesh maintenance between C# nodes on a fake clock (heartbeats run when a test advances it).</summary>
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

    /// <summary>A node on <paramref name="clock"/>: its heartbeat runs only when the test advances the clock.</summary>
    internal static async Task<(Libp2pHost Host, GossipSub Gs)> NewNodeAsync(FakeTimeProvider clock, CancellationToken ct, GossipSubOptions? o = null)
    {
        var host = TestUtil.NewHost(clock);
        var gs = new GossipSub(host, o ?? new GossipSubOptions());
        await host.StartAsync(ct);
        return (host, gs);
    }

    /// <summary>Options for the interop tests, where js and C# nodes run on real time: a short heartbeat so meshes heal quickly.</summary>
    internal static GossipSubOptions FastOptions(int d = 6, int dlo = 4, int dhi = 12) => new()
    {
        D = d,
        Dlo = dlo,
        Dhi = dhi,
        Dout = Math.Min(2, dlo - 1),
        Dscore = Math.Min(4, d),
        HeartbeatInterval = TimeSpan.FromMilliseconds(200),
    };

    private static async Task DisposeAsync(IEnumerable<(Libp2pHost Host, GossipSub Gs)> nodes)
    {
        foreach (var n in nodes)
        {
            await n.Gs.DisposeAsync();
            await n.Host.DisposeAsync();
        }
    }

    /// <summary>Two nodes on <paramref name="clock"/>, the second dialled to the first, each in the other's mesh of "t".</summary>
    private static async Task<((Libp2pHost Host, GossipSub Gs) A, (Libp2pHost Host, GossipSub Gs) B)> MeshedPairAsync(FakeTimeProvider clock, CancellationToken ct)
    {
        var a = await NewNodeAsync(clock, ct);
        var b = await NewNodeAsync(clock, ct);
        try
        {
            await DialAsync(b.Host, a.Host, ct);
            a.Gs.Subscribe("t");
            b.Gs.Subscribe("t");
            await TestUtil.UntilAsync(() => Meshed(a, b, "t"), ct);
            return (a, b);
        }
        catch
        {
            await DisposeAsync([a, b]);
            throw;
        }
    }

    private static Task DialAsync(Libp2pHost from, Libp2pHost to, CancellationToken ct) =>
        from.DialAsync(to.ListenAddresses[0].WithPeerId(to.PeerId), ct);

    private static bool Meshed((Libp2pHost Host, GossipSub Gs) a, (Libp2pHost Host, GossipSub Gs) b, string topic) =>
        a.Gs.MeshPeers(topic).Contains(b.Host.PeerId) && b.Gs.MeshPeers(topic).Contains(a.Host.PeerId);

    /// <summary>b pruned a and a keeps b in backoff: neither side has the other in its mesh.</summary>
    private static bool Pruned((Libp2pHost Host, GossipSub Gs) a, (Libp2pHost Host, GossipSub Gs) b, string topic) =>
        !a.Gs.MeshPeers(topic).Contains(b.Host.PeerId) && !b.Gs.MeshPeers(topic).Contains(a.Host.PeerId) && a.Gs.IsBackedOff(b.Host.PeerId, topic);

    [Fact]
    public async Task Mesh_FormsAndPrunesDownToD_WhenOversubscribed_PrunedPeersGetMessagesByGossip()
    {
        using var cts = TestUtil.Timeout(60);
        var ct = cts.Token;
        var clock = TestUtil.NewClock();
        // no flood publish: pruned leaves can only get the hub's message through IHAVE/IWANT gossip
        var o = new GossipSubOptions { D = 3, Dlo = 2, Dhi = 4, Dout = 1, Dscore = 2, FloodPublish = false };
        var nodes = new List<(Libp2pHost Host, GossipSub Gs)>();
        try
        {
            for (var i = 0; i < 8; i++)
            {
                nodes.Add(await NewNodeAsync(clock, ct, o));
            }
            var hub = nodes[0];
            var leaves = nodes.Skip(1).ToList();
            // the hub dials: its connections are outbound, so it accepts every leaf's GRAFT (GRAFTs from inbound peers
            // stop at Dhi) and its mesh grows past Dhi until a heartbeat prunes it
            foreach (var n in leaves)
            {
                await DialAsync(hub.Host, n.Host, ct);
            }
            foreach (var n in nodes)
            {
                n.Gs.Subscribe("t");
            }
            // subscriptions and GRAFTs need no heartbeat: every leaf ends up in the hub's mesh
            await TestUtil.UntilAsync(() => leaves.All(n => Meshed(hub, n, "t")), ct);
            Assert.Equal(7, hub.Gs.MeshPeers("t").Count);

            // one heartbeat: the hub keeps D and prunes the rest, with a backoff on both sides
            clock.Advance(o.HeartbeatInterval);
            Assert.Equal(o.D, hub.Gs.MeshPeers("t").Count);
            var mesh = hub.Gs.MeshPeers("t");
            var pruned = leaves.Where(n => !mesh.Contains(n.Host.PeerId)).ToList();
            Assert.Equal(7 - o.D, pruned.Count);
            await TestUtil.UntilAsync(() => pruned.All(n => Pruned(n, hub, "t")), ct);
            Assert.All(pruned, n => Assert.True(hub.Gs.IsBackedOff(n.Host.PeerId, "t")));

            // mesh leaves get the message directly; pruned leaves get it through IHAVE -> IWANT after the next heartbeat
            Assert.Equal(o.D, await hub.Gs.PublishAsync("t", "x"u8.ToArray(), ct));
            foreach (var n in leaves.Except(pruned))
            {
                Assert.Equal("x", Encoding.UTF8.GetString((await n.Gs.Messages.ReadAsync(ct)).Data));
            }
            Assert.All(pruned, n => Assert.False(n.Gs.Messages.TryRead(out _)));
            clock.Advance(o.HeartbeatInterval);
            foreach (var n in pruned)
            {
                var m = await n.Gs.Messages.ReadAsync(ct);
                Assert.Equal("x", Encoding.UTF8.GetString(m.Data));
                Assert.Equal(hub.Host.PeerId, m.From);
                Assert.DoesNotContain(hub.Host.PeerId, n.Gs.MeshPeers("t")); // still backed off: gossip, not a regraft
            }
        }
        finally
        {
            await DisposeAsync(nodes);
        }
    }

    [Fact]
    public async Task Line_DeliversExactlyOnce_ValidatorRejectStopsForwarding_UnsubscribePrunes()
    {
        using var cts = TestUtil.Timeout(60);
        var ct = cts.Token;
        var clock = TestUtil.NewClock(); // never advanced: no heartbeat, so delivery is by the mesh alone
        var nodes = new List<(Libp2pHost Host, GossipSub Gs)>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                nodes.Add(await NewNodeAsync(clock, ct));
            }
            for (var i = 0; i + 1 < nodes.Count; i++)
            {
                await DialAsync(nodes[i].Host, nodes[i + 1].Host, ct);
            }
            foreach (var n in nodes)
            {
                n.Gs.Subscribe("t");
            }
            await TestUtil.UntilAsync(() => Enumerable.Range(0, nodes.Count - 1).All(i => Meshed(nodes[i], nodes[i + 1], "t")), ct);
            nodes[1].Gs.AddValidator("t", m => m.Data.AsSpan().StartsWith("bad"u8) ? ValidationResult.Reject : ValidationResult.Accept);
            const int count = 300;
            for (var i = 0; i < count; i++)
            {
                await nodes[0].Gs.PublishAsync("t", Encoding.UTF8.GetBytes("m" + i), ct);
            }
            await nodes[0].Gs.PublishAsync("t", "bad"u8.ToArray(), ct);
            await nodes[0].Gs.PublishAsync("t", "end"u8.ToArray(), ct);
            // each hop forwards in order on one stream, so a forwarded "bad" would arrive before "end": nodes 2 and 3
            // never seeing it between m299 and "end" shows node 1 rejected it and did not forward it
            foreach (var n in nodes.Skip(1))
            {
                var got = new List<string>();
                while (true)
                {
                    var m = await n.Gs.Messages.ReadAsync(ct);
                    var s = Encoding.UTF8.GetString(m.Data);
                    if (s == "end")
                    {
                        break;
                    }
                    got.Add(s);
                }
                Assert.Equal(Enumerable.Range(0, count).Select(i => "m" + i), got);
                Assert.False(n.Gs.Messages.TryRead(out _));
            }

            nodes[3].Gs.Unsubscribe("t");
            Assert.True(nodes[3].Gs.IsBackedOff(nodes[2].Host.PeerId, "t"));
            await TestUtil.UntilAsync(() => !nodes[2].Gs.MeshPeers("t").Contains(nodes[3].Host.PeerId), ct);
        }
        finally
        {
            await DisposeAsync(nodes);
        }
    }

    [Fact]
    public async Task GraftDuringBackoff_IsPenalized_GraylistedPeerIsIgnored_IgnoreResultDropsSilently()
    {
        using var cts = TestUtil.Timeout(30);
        var ct = cts.Token;
        var clock = TestUtil.NewClock();
        var ((ha, a), (hb, b)) = await MeshedPairAsync(clock, ct);
        try
        {

            // validator Ignore: not delivered, no P4 penalty ("one" comes after "skip" on the same stream)
            a.AddValidator("t", m => m.Data.AsSpan().StartsWith("skip"u8) ? ValidationResult.Ignore : ValidationResult.Accept);
            await b.PublishAsync("t", "skip"u8.ToArray(), ct);
            await b.PublishAsync("t", "one"u8.ToArray(), ct);
            Assert.Equal("one", Encoding.UTF8.GetString((await a.Messages.ReadAsync(ct)).Data));
            Assert.True(a.GetScore(hb.PeerId) >= 0);

            // b leaves the topic: its PRUNE puts a backoff on a's side; a GRAFT within it is refused and penalized
            b.Unsubscribe("t");
            await TestUtil.UntilAsync(() => a.IsBackedOff(hb.PeerId, "t") && !a.MeshPeers("t").Contains(hb.PeerId), ct);
            var graft = new PubsubRpc();
            graft.Graft.Add(new PubsubGraft("t"));
            a.HandleRpc(hb.PeerId, graft);
            Assert.DoesNotContain(hb.PeerId, a.MeshPeers("t"));
            Assert.True(a.GetScore(hb.PeerId) < 0);

            // the backoff lasts PruneBackoff on a's clock: a GRAFT once it has passed is accepted again
            Assert.True(a.IsBackedOff(hb.PeerId, "t"));
            clock.Advance(a.Options.PruneBackoff);
            Assert.False(a.IsBackedOff(hb.PeerId, "t"));

            // graylisted: nothing b sends is processed any more. The RPCs are handed to a as its stream reader would,
            // so what is checked does not depend on when a wire message arrives.
            Assert.Contains(hb.PeerId, a.Peers);
            a.HandleRpc(hb.PeerId, MessageRpc(hb.Identity, "t", "before"));
            Assert.Equal("before", Encoding.UTF8.GetString((await a.Messages.ReadAsync(ct)).Data));
            a.AddBehaviourPenalty(hb.PeerId, 10);
            Assert.True(a.GetScore(hb.PeerId) < a.Options.Score.GraylistThreshold);
            a.HandleRpc(hb.PeerId, MessageRpc(hb.Identity, "t", "after"));
            Assert.False(a.Messages.TryRead(out _));
            Assert.Equal(1, await b.PublishAsync("t", "two"u8.ToArray(), ct)); // b still sends to a (flood publish)
        }
        finally
        {
            await DisposeAsync([(ha, a), (hb, b)]);
        }
    }

    /// <summary>An RPC carrying one message signed by <paramref name="author"/>.</summary>
    internal static PubsubRpc MessageRpc(Ed25519Identity author, string topic, string data)
    {
        var m = new PubsubMessage { From = author.PeerId.ToByteArray(), Data = Encoding.UTF8.GetBytes(data), Seqno = RandomNumberGenerator.GetBytes(8), Topic = topic };
        m.Signature = author.Sign(GossipSub.SignedBytes(m));
        var rpc = new PubsubRpc();
        rpc.Messages.Add(m);
        return rpc;
    }

    [Fact]
    public void KadRecord_RandomBytesNeverCrash() =>
        Gen.Byte.Array[0, 200].Sample(b => OnlyTyped(() => Vivim.Libp2p.Protocols.Kad.KadRecord.Decode(b)), iter: 20000);

    [Fact]
    public async Task MalformedRpcOnAStream_EndsOnlyThatStream_RouterKeepsWorking()
    {
        using var cts = TestUtil.Timeout(30);
        var ct = cts.Token;
        var clock = TestUtil.NewClock();
        var ((ha, a), (hb, b)) = await MeshedPairAsync(clock, ct);
        try
        {
            // a second, hostile meshsub stream from b: a length prefix over the limit, then garbage; a resets it
            await using (var s = await hb.NewStreamAsync(ha.PeerId, GossipSub.ProtocolV11, ct))
            {
                await Varint.WriteLengthPrefixedAsync(s, new byte[] { 0xFF, 0xFF, 0xFF }, ct);
                await s.FlushAsync(ct);
                await Assert.ThrowsAsync<StreamResetException>(async () => await s.ReadAtLeastAsync(new byte[1], 1, throwOnEndOfStream: false, ct));
            }
            await b.PublishAsync("t", "still"u8.ToArray(), ct);
            Assert.Equal("still", Encoding.UTF8.GetString((await a.Messages.ReadAsync(ct)).Data));
        }
        finally
        {
            await DisposeAsync([(ha, a), (hb, b)]);
        }
    }

    /// <summary>
    /// Publishes go straight to the muxer while a peer is idle and through its write loop once the Yamux window or
    /// the queue holds earlier ones: 16 MiB of messages in bursts larger than the connection's write queue must all arrive, once, in order.
    /// </summary>
    [Fact]
    public async Task BurstOverTheWindow_MixesDirectAndQueuedWrites_EveryMessageArrivesInOrder()
    {
        using var cts = TestUtil.Timeout(60);
        var ct = cts.Token;
        var clock = TestUtil.NewClock();
        var ((ha, a), (hb, b)) = await MeshedPairAsync(clock, ct);
        try
        {
            const int count = 2_000;
            var body = new byte[8 * 1024];
            for (var i = 0; i < count; i++)
            {
                BitConverter.TryWriteBytes(body, i);
                await a.PublishAsync("t", body, ct);
                if (i % 400 == 399)
                {
                    // bursts of 3.2 MiB overflow the connection's 2 MiB write queue (later ones wait in the peer's queue);
                    // the pauses let it drain, so the direct path opens again and must not overtake what waits
                    await Task.Delay(1, ct);
                }
            }

            for (var i = 0; i < count; i++)
            {
                var m = await b.Messages.ReadAsync(ct);
                Assert.Equal(i, BitConverter.ToInt32(m.Data));
            }

            await Task.Delay(200, ct);
            Assert.False(b.Messages.TryRead(out _));
        }
        finally
        {
            await DisposeAsync([(ha, a), (hb, b)]);
        }
    }
}
