using Microsoft.Extensions.Time.Testing;
using Vivim.Gateway.P2p.Gossip;
using Vivim.Protocol.Model;
using Vivim.Tests.Libp2p;
using Vivim.Tests.Support;

namespace Vivim.Tests.Gateway.P2p;

/// <summary>
/// Commits on GossipSub against the real cluster: owner writes over HTTP reach real js-libp2p subscribers of
/// <c>/vivim/sync/&lt;did&gt;</c> through the gateway peer that owns the DID, only while the topic has subscribers,
/// again when idle for a minute, and on from the head after a handover.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class GossipPublishingTests(GatewayFixture gateway)
{
    private Task<(string ApiKey, string Did)> NewExitNodeAsync() => GossipTestKit.NewExitNodeAsync(gateway);

    private Task<long> WriteAsync(string apiKey, string did, int index, int documents = 1) => GossipTestKit.WriteAsync(gateway, apiKey, did, index, documents);

    /// <summary>A clock that is never advanced: no idle re-publication interferes with counting.</summary>
    private static FakeTimeProvider StillClock() => TestUtil.NewClock();

    [Fact]
    public async Task A_js_subscriber_gets_every_owner_write_exactly_once_in_seq_order_each_verifying()
    {
        using var cts = TestUtil.InteropTimeout();
        var ct = cts.Token;
        var (apiKey, did) = await NewExitNodeAsync();
        var topic = CommitTopics.For(did);
        await using var gw = await GossipGateway.StartAsync(gateway, StillClock());
        await using var js = await JsGossipPeer.StartAsync(ct);
        gw.Ownership.Acquire(did);
        await js.DialAsync(gw.Address, ct);
        await js.SubscribeAsync(topic, ct);
        await gw.PublishingAsync(did);

        var toSeqs = new List<long>();
        for (var i = 0; i < 12; i++)
        {
            toSeqs.Add(await WriteAsync(apiKey, did, i, documents: i % 3 == 0 ? 3 : 1));
        }

        // One more commit after the 12: had any of them come twice, it would have come before this one (one stream, in order).
        toSeqs.Add(await WriteAsync(apiKey, did, 12));
        var got = await js.ReceivedAtLeastAsync(topic, toSeqs.Count, ct);
        Assert.Equal(toSeqs.Count, got.Count);
        Assert.All(got, m => Assert.Equal(gw.Peer.PeerId.ToString(), m.From));
        var commits = got.Select(m => JsGossipPeer.VerifiedCommit(did, m.Data)).ToList();
        Assert.Equal(toSeqs, commits.Select(c => c.ToSeq));
        Assert.Equal(1, commits[0].FromSeq);
        for (var i = 1; i < commits.Count; i++)
        {
            Assert.Equal(commits[i - 1].ToSeq + 1, commits[i].FromSeq);
            Assert.Equal(commits[i - 1].Root, commits[i].PrevRoot);
        }

        Assert.Equal(3, commits[0].UpdateHashes.Count);
    }

    [Fact]
    public async Task No_feed_and_nothing_published_without_subscribers_the_first_subscriber_gets_the_head_and_the_last_leaving_stops_it()
    {
        using var cts = TestUtil.InteropTimeout();
        var ct = cts.Token;
        var (apiKey, did) = await NewExitNodeAsync();
        var (_, other) = await NewExitNodeAsync();
        var topic = CommitTopics.For(did);
        await using var gw = await GossipGateway.StartAsync(gateway, StillClock());
        await using var js = await JsGossipPeer.StartAsync(ct);
        gw.Ownership.Acquire(did, other);
        await js.DialAsync(gw.Address, ct);

        // a connected peer on another DID's topic: that one is published, this one is not followed at all
        await js.SubscribeAsync(CommitTopics.For(other), ct);
        await gw.PublishingAsync(other);
        Assert.Contains(topic, gw.Pubsub.Topics); // joined to validate and relay
        for (var i = 0; i < 3; i++)
        {
            await WriteAsync(apiKey, did, i);
        }

        Assert.DoesNotContain(did, gw.Publisher.PublishingDids);
        Assert.Equal(0, gw.Publisher.PublishedCount(did));
        Assert.Empty(gw.Pubsub.FanoutPeers(topic));

        // the first subscriber: the feed starts and the head goes out (the subscriber pulls 1..2 itself)
        await js.SubscribeAsync(topic, ct);
        await gw.PublishingAsync(did);
        var head = Assert.Single(await js.ReceivedAtLeastAsync(topic, 1, ct));
        Assert.Equal(3, JsGossipPeer.VerifiedCommit(did, head.Data).ToSeq);
        await WriteAsync(apiKey, did, 3);
        var got = await js.ReceivedAtLeastAsync(topic, 2, ct);
        Assert.Equal([3L, 4L], got.Select(m => JsGossipPeer.VerifiedCommit(did, m.Data).ToSeq));

        // the last subscriber leaves: the feed stops
        await js.UnsubscribeAsync(topic, ct);
        await Until.TrueAsync(() => !gw.Publisher.PublishingDids.Contains(did), () => "still publishing without subscribers");
        Assert.Contains(other, gw.Publisher.PublishingDids);
    }

    [Fact]
    public async Task While_subscribed_the_latest_commit_is_published_again_after_a_minute_without_commits()
    {
        using var cts = TestUtil.InteropTimeout();
        var ct = cts.Token;
        var (apiKey, did) = await NewExitNodeAsync();
        var topic = CommitTopics.For(did);
        var clock = TestUtil.NewClock();
        await using var gw = await GossipGateway.StartAsync(gateway, clock);
        await using var js = await JsGossipPeer.StartAsync(ct);
        gw.Ownership.Acquire(did);
        await js.DialAsync(gw.Address, ct);
        await js.SubscribeAsync(topic, ct);
        await gw.PublishingAsync(did);
        await WriteAsync(apiKey, did, 0);
        var first = Assert.Single(await js.ReceivedAtLeastAsync(topic, 1, ct));

        clock.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(1, gw.Publisher.PublishedCount(did));
        clock.Advance(TimeSpan.FromSeconds(1));
        var got = await js.ReceivedAtLeastAsync(topic, 2, ct);
        Assert.Equal(first.Data, got[1].Data); // the same commit: subscribers treat it as a duplicate

        // a new commit restarts the minute
        await WriteAsync(apiKey, did, 1);
        got = await js.ReceivedAtLeastAsync(topic, 3, ct);
        Assert.Equal(2, JsGossipPeer.VerifiedCommit(did, got[2].Data).ToSeq);
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(3, gw.Publisher.PublishedCount(did));
        clock.Advance(TimeSpan.FromSeconds(30));
        got = await js.ReceivedAtLeastAsync(topic, 4, ct);
        Assert.Equal(got[2].Data, got[3].Data);
        Assert.Equal(4, got.Count);
    }

    [Fact]
    public async Task After_a_handover_the_new_owner_publishes_on_from_the_head_and_the_subscriber_misses_no_commit()
    {
        using var cts = TestUtil.InteropTimeout();
        var ct = cts.Token;
        var (apiKey, did) = await NewExitNodeAsync();
        var topic = CommitTopics.For(did);
        await using var first = await GossipGateway.StartAsync(gateway, StillClock());
        await using var second = await GossipGateway.StartAsync(gateway, StillClock());
        await using var js = await JsGossipPeer.StartAsync(ct);
        await js.DialAsync(first.Address, ct);
        await js.DialAsync(second.Address, ct);
        await js.SubscribeAsync(topic, ct);
        first.Ownership.Acquire(did);
        await first.PublishingAsync(did);
        await WriteAsync(apiKey, did, 0);
        await WriteAsync(apiKey, did, 1);
        await js.ReceivedAtLeastAsync(topic, 2, ct);

        // the first gateway gives the DID up; a commit lands before the second takes it over
        first.Ownership.Release(did);
        await Until.TrueAsync(() => !first.Pubsub.Topics.Contains(topic) && first.Publisher.PublishingDids.Count == 0, () => "the first gateway still publishes");
        await WriteAsync(apiKey, did, 2);
        second.Ownership.Acquire(did);
        await second.PublishingAsync(did);
        await WriteAsync(apiKey, did, 3);
        var got = await js.ReceivedAtLeastAsync(topic, 4, ct);

        var seqs = got.Select(m => JsGossipPeer.VerifiedCommit(did, m.Data).ToSeq).ToList();
        Assert.Equal([1L, 2L, 3L, 4L], seqs);
        Assert.Equal([first.Peer.PeerId.ToString(), first.Peer.PeerId.ToString(), second.Peer.PeerId.ToString(), second.Peer.PeerId.ToString()], got.Select(m => m.From));
    }
}
