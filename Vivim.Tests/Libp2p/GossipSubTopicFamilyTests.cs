using System.Collections.Concurrent;
using System.Text;
using Vivim.Libp2p.Protocols.Pubsub;

namespace Vivim.Tests.Libp2p;

/// <summary>What a publisher of many topics needs from the router: who joins and leaves a topic, and one validator for a family of topics.</summary>
public class GossipSubTopicFamilyTests
{
    [Fact]
    public async Task TopicPeerChanged_TellsJoinLeaveAndDisconnect_EvenForTopicsWeDidNotJoin()
    {
        using var cts = TestUtil.Timeout();
        var ct = cts.Token;
        var clock = TestUtil.NewClock();
        var (ha, a) = await GossipSubTests.NewNodeAsync(clock, ct);
        var (hb, b) = await GossipSubTests.NewNodeAsync(clock, ct);
        var changes = new ConcurrentQueue<(string Peer, string Topic, bool Subscribed)>();
        a.TopicPeerChanged += (_, e) => changes.Enqueue((e.Peer.ToString(), e.Topic, e.Subscribed));
        var bId = hb.PeerId.ToString();
        var bGone = false;
        try
        {
            await hb.DialAsync(ha.ListenAddresses[0].WithPeerId(ha.PeerId), ct);
            b.Subscribe("/f/x");
            await TestUtil.UntilAsync(() => changes.Contains((bId, "/f/x", true)), ct);
            Assert.Equal([hb.PeerId], a.TopicPeers("/f/x"));
            Assert.DoesNotContain("/f/x", a.Topics);

            b.Unsubscribe("/f/x");
            await TestUtil.UntilAsync(() => changes.Contains((bId, "/f/x", false)), ct);
            Assert.Empty(a.TopicPeers("/f/x"));

            b.Subscribe("/f/y");
            await TestUtil.UntilAsync(() => changes.Contains((bId, "/f/y", true)), ct);
            bGone = true;
            await b.DisposeAsync();
            await hb.DisposeAsync();
            await TestUtil.UntilAsync(() => changes.Contains((bId, "/f/y", false)), ct);
            Assert.Equal(4, changes.Count); // each change once
        }
        finally
        {
            await a.DisposeAsync();
            await ha.DisposeAsync();
            if (!bGone)
            {
                await b.DisposeAsync();
                await hb.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task PrefixValidator_CoversAFamilyOfTopics_ATopicsOwnValidatorAndTheLongestPrefixWin()
    {
        using var cts = TestUtil.Timeout();
        var ct = cts.Token;
        var clock = TestUtil.NewClock();
        var (ha, a) = await GossipSubTests.NewNodeAsync(clock, ct);
        var (hb, b) = await GossipSubTests.NewNodeAsync(clock, ct);
        try
        {
            await hb.DialAsync(ha.ListenAddresses[0].WithPeerId(ha.PeerId), ct);
            await TestUtil.UntilAsync(() => a.Peers.Contains(hb.PeerId), ct);
            foreach (var t in new[] { "/f/q", "/f/z/1", "/f/own", "/g" })
            {
                a.Subscribe(t);
            }

            a.AddPrefixValidator("/f/", m => m.Data.AsSpan().StartsWith("bad"u8) ? ValidationResult.Reject : ValidationResult.Accept);
            a.AddPrefixValidator("/f/z/", m => m.Data.AsSpan().StartsWith("worse"u8) ? ValidationResult.Reject : ValidationResult.Accept);
            a.AddValidator("/f/own", _ => ValidationResult.Accept);
            (string Topic, string Data)[] sent = [("/f/q", "bad"), ("/f/q", "ok"), ("/f/z/1", "bad"), ("/f/z/1", "worse"), ("/f/own", "bad"), ("/g", "bad")];
            foreach (var (topic, data) in sent)
            {
                // handed to a as its stream reader would, so delivery is decided before the next line
                a.HandleRpc(hb.PeerId, GossipSubTests.MessageRpc(hb.Identity, topic, data));
            }

            var delivered = new List<string>();
            while (a.Messages.TryRead(out var m))
            {
                delivered.Add(m.Topic + " " + Encoding.UTF8.GetString(m.Data));
            }

            Assert.Equal(["/f/q ok", "/f/z/1 bad", "/f/own bad", "/g bad"], delivered);

            a.RemovePrefixValidator("/f/");
            a.HandleRpc(hb.PeerId, GossipSubTests.MessageRpc(hb.Identity, "/f/q", "bad"));
            Assert.True(a.Messages.TryRead(out var after));
            Assert.Equal("bad", Encoding.UTF8.GetString(after.Data));
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
