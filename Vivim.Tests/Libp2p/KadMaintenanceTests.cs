using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Libp2p.Protocols.Kad;

namespace Vivim.Tests.Libp2p;

/// <summary>
/// Kademlia maintenance with the real intervals (10 min refresh, 22 h republish, 48 h validity) on a fake clock: each
/// test advances the clock past one interval and awaits the round it starts, so nothing depends on how fast the machine is.
/// </summary>
public class KadMaintenanceTests
{
    private static async Task<(Libp2pHost Host, KadDht Dht)> NodeAsync(FakeTimeProvider clock, KadOptions o, Ed25519Identity? id = null)
    {
        var host = TestUtil.NewHost(clock, b =>
        {
            if (id is not null)
            {
                b.WithIdentity(id);
            }
        });
        await host.StartAsync();
        return (host, new KadDht(host, o));
    }

    private static string Dialable(Libp2pHost h) => h.ListenAddresses[0].WithPeerId(h.PeerId).ToString();

    /// <summary>Connects two DHT servers and waits until each has identified the other into its table, so no identify is in flight when the clock moves.</summary>
    private static async Task ConnectAsync((Libp2pHost Host, KadDht Dht) from, (Libp2pHost Host, KadDht Dht) to, CancellationToken ct)
    {
        await from.Host.DialAsync(Dialable(to.Host), ct);
        await TestUtil.UntilAsync(() => from.Dht.RoutingTable.Find(to.Host.PeerId) is not null && to.Dht.RoutingTable.Find(from.Host.PeerId) is not null, ct);
    }

    /// <summary>The counts a DHT reports after each round, to await one round at a time.</summary>
    private static ChannelReader<int> Rounds(Action<EventHandler<int>> subscribe)
    {
        var rounds = Channel.CreateUnbounded<int>();
        subscribe((_, n) => rounds.Writer.TryWrite(n));
        return rounds.Reader;
    }

    private static async Task DisposeAsync(params (Libp2pHost Host, KadDht Dht)[] nodes)
    {
        foreach (var n in nodes)
        {
            n.Dht.Dispose();
            await n.Host.DisposeAsync();
        }
    }

    [Fact]
    public async Task Refresh_RandomLookupsIntoStaleBuckets_FindPeersWeNeverAskedFor()
    {
        using var cts = TestUtil.Timeout(60);
        var ct = cts.Token;
        var clock = TestUtil.NewClock();
        var refreshing = new KadOptions();
        var off = new KadOptions { RefreshInterval = TimeSpan.Zero };
        var a = await NodeAsync(clock, refreshing);
        var b = await NodeAsync(clock, off);
        var c = await NodeAsync(clock, off);
        try
        {
            var refreshed = Rounds(h => a.Dht.Refreshed += h);
            await ConnectAsync(b, c, ct);
            await ConnectAsync(a, b, ct);
            // a never looks anything up itself, and the clock has not moved: no refresh has run, c is unknown to a
            Assert.Null(a.Dht.RoutingTable.Find(c.Host.PeerId));
            Assert.False(refreshed.TryRead(out _));

            clock.Advance(refreshing.RefreshInterval);
            // the round's lookups went through b to c; the event reports the round once it has finished
            Assert.True(await refreshed.ReadAsync(ct) > 0);
            Assert.NotNull(a.Dht.RoutingTable.Find(c.Host.PeerId));
            for (var cpl = 0; cpl <= 8; cpl++)
            {
                Assert.Equal(cpl, a.Dht.RoutingTable.BucketOf(a.Dht.RandomKeyInBucket(cpl)));
            }
        }
        finally
        {
            await DisposeAsync(a, b, c);
        }
    }

    [Fact]
    public async Task FullBucket_PingsLeastRecentlySeen_KeepsItWhenAlive_EvictsItWhenDead()
    {
        using var cts = TestUtil.Timeout(60);
        var ct = cts.Token;
        // on a clock that does not move, the liveness timeout cannot fire: an alive peer is kept however slow the machine
        var clock = TestUtil.NewClock();
        var o = new KadOptions { K = 1, RefreshInterval = TimeSpan.Zero };
        var a = await NodeAsync(clock, o);
        // two peers that fall in the same bucket of a's table (K = 1: the second one finds it full)
        var idB = Ed25519Identity.Generate();
        Ed25519Identity idC;
        while (a.Dht.RoutingTable.BucketOf((idC = Ed25519Identity.Generate()).PeerId.Bytes) != a.Dht.RoutingTable.BucketOf(idB.PeerId.Bytes))
        {
            idC.Dispose();
        }
        var b = await NodeAsync(clock, o, idB);
        var c = await NodeAsync(clock, o, idC);
        try
        {
            var infoB = new KadPeerInfo(b.Host.PeerId, b.Host.ListenAddresses);
            var infoC = new KadPeerInfo(c.Host.PeerId, c.Host.ListenAddresses);
            await ConnectAsync(a, b, ct);
            Assert.Equal(b.Host.PeerId, a.Dht.RoutingTable.LeastRecentlySeen(c.Host.PeerId)?.Peer);

            Assert.False(await a.Dht.AddPeerAsync(infoC, ct)); // b answers the ping: kept, c refused
            Assert.NotNull(a.Dht.RoutingTable.Find(b.Host.PeerId));
            Assert.Null(a.Dht.RoutingTable.Find(c.Host.PeerId));

            // b goes away; once a has seen the connection close, its liveness ping finds no one to dial
            var bGone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            a.Host.PeerDisconnected += (_, e) =>
            {
                if (e.Peer == b.Host.PeerId)
                {
                    bGone.TrySetResult();
                }
            };
            b.Dht.Dispose();
            await b.Host.DisposeAsync();
            await bGone.Task.WaitAsync(ct);
            Assert.True(await a.Dht.AddPeerAsync(infoC, ct)); // b does not answer: evicted for c
            Assert.Null(a.Dht.RoutingTable.Find(b.Host.PeerId));
            Assert.NotNull(a.Dht.RoutingTable.Find(c.Host.PeerId));
            Assert.False(a.Dht.RoutingTable.Replace(b.Host.PeerId, infoB)); // b is gone already
        }
        finally
        {
            await DisposeAsync(a, c);
            idB.Dispose();
            idC.Dispose();
        }
    }

    [Fact]
    public async Task ProviderRecords_AreRepublished_AndExpireWhenNoLongerProvided()
    {
        using var cts = TestUtil.Timeout(60);
        var ct = cts.Token;
        var clock = TestUtil.NewClock();
        var o = new KadOptions { RefreshInterval = TimeSpan.Zero };
        Assert.Equal(TimeSpan.FromHours(48), o.ProviderValidity);
        Assert.Equal(TimeSpan.FromHours(22), o.ProviderRepublishInterval);
        Assert.Equal(TimeSpan.FromMinutes(10), new KadOptions().RefreshInterval);
        var a = await NodeAsync(clock, o);
        var b = await NodeAsync(clock, o);
        try
        {
            var republished = Rounds(h => a.Dht.Republished += h);
            byte[] key = [0x12, 0x20, .. SHA256.HashData(Encoding.UTF8.GetBytes("republish me"))];
            await ConnectAsync(a, b, ct);
            var start = clock.GetUtcNow();
            Assert.Equal(1, await a.Dht.ProvideAsync(key, ct));
            await TestUtil.UntilAsync(() => b.Dht.Providers.ExpiresAt(key, a.Host.PeerId) is not null, ct); // ADD_PROVIDER has no response
            Assert.Equal(start + o.ProviderValidity, b.Dht.Providers.ExpiresAt(key, a.Host.PeerId));

            // three republish intervals take us well past the first record's validity; each round renews b's record
            for (var round = 1; round <= 3; round++)
            {
                var before = b.Dht.Providers.ExpiresAt(key, a.Host.PeerId);
                clock.Advance(o.ProviderRepublishInterval);
                Assert.Equal(1, await republished.ReadAsync(ct));
                await TestUtil.UntilAsync(() => b.Dht.Providers.ExpiresAt(key, a.Host.PeerId) > before, ct);
            }
            Assert.True(clock.GetUtcNow() - start > o.ProviderValidity);
            Assert.Equal(clock.GetUtcNow() + o.ProviderValidity, b.Dht.Providers.ExpiresAt(key, a.Host.PeerId));
            Assert.Contains(a.Host.PeerId, b.Dht.Providers.Get(key).Select(p => p.Peer));

            // once a stops providing, its next round announces nothing and b's record expires
            Assert.True(a.Dht.StopProviding(key));
            Assert.Empty(a.Dht.ProvidedKeys);
            clock.Advance(o.ProviderRepublishInterval);
            Assert.Equal(0, await republished.ReadAsync(ct));
            Assert.Contains(a.Host.PeerId, b.Dht.Providers.Get(key).Select(p => p.Peer)); // 22 h of 48 h
            clock.Advance(o.ProviderValidity - o.ProviderRepublishInterval);
            Assert.Empty(b.Dht.Providers.Get(key));
        }
        finally
        {
            await DisposeAsync(a, b);
        }
    }
}
