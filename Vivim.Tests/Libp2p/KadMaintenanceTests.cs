using System.Security.Cryptography;
using System.Text;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Libp2p.Protocols.Kad;

namespace Vivim.Tests.Libp2p;

/// <summary>Kademlia maintenance with short intervals: bucket refresh, liveness checks of full buckets, provider republish and expiry.</summary>
public class KadMaintenanceTests
{
    private static async Task<(Libp2pHost Host, KadDht Dht)> NodeAsync(KadOptions o, Ed25519Identity? id = null)
    {
        var host = TestUtil.NewHost(b =>
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

    private static async Task WaitAsync(Func<bool> cond, CancellationToken ct)
    {
        while (!cond())
        {
            await Task.Delay(50, ct);
        }
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
        var fast = new KadOptions { RefreshInterval = TimeSpan.FromMilliseconds(300) };
        var off = new KadOptions { RefreshInterval = TimeSpan.Zero };
        var a = await NodeAsync(fast);
        var b = await NodeAsync(off);
        var c = await NodeAsync(off);
        try
        {
            var refreshed = 0;
            a.Dht.Refreshed += (_, n) => Interlocked.Add(ref refreshed, n);
            await b.Host.DialAsync(Dialable(c.Host), ct);
            await WaitAsync(() => b.Dht.RoutingTable.Find(c.Host.PeerId) is not null, ct);
            await a.Host.DialAsync(Dialable(b.Host), ct);
            await WaitAsync(() => a.Dht.RoutingTable.Find(b.Host.PeerId) is not null, ct);
            // a never looks anything up itself: only the refresh can take it to c (through b)
            await WaitAsync(() => a.Dht.RoutingTable.Find(c.Host.PeerId) is not null, ct);

            // c enters the table during the refresh's lookup; the event reports the round once it has finished.
            await WaitAsync(() => Volatile.Read(ref refreshed) > 0, ct);
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
        var o = new KadOptions { K = 1, RefreshInterval = TimeSpan.Zero, LivenessTimeout = TimeSpan.FromSeconds(2) };
        var a = await NodeAsync(o);
        // two peers that fall in the same bucket of a's table (K = 1: the second one finds it full)
        var idB = Ed25519Identity.Generate();
        Ed25519Identity idC;
        while (a.Dht.RoutingTable.BucketOf((idC = Ed25519Identity.Generate()).PeerId.Bytes) != a.Dht.RoutingTable.BucketOf(idB.PeerId.Bytes))
        {
            idC.Dispose();
        }
        var b = await NodeAsync(o, idB);
        var c = await NodeAsync(o, idC);
        try
        {
            var infoB = new KadPeerInfo(b.Host.PeerId, b.Host.ListenAddresses);
            var infoC = new KadPeerInfo(c.Host.PeerId, c.Host.ListenAddresses);
            await a.Host.DialAsync(Dialable(b.Host), ct);
            await WaitAsync(() => a.Dht.RoutingTable.Find(b.Host.PeerId) is not null, ct);
            Assert.Equal(b.Host.PeerId, a.Dht.RoutingTable.LeastRecentlySeen(c.Host.PeerId)?.Peer);

            Assert.False(await a.Dht.AddPeerAsync(infoC, ct)); // b answers the ping: kept, c refused
            Assert.NotNull(a.Dht.RoutingTable.Find(b.Host.PeerId));
            Assert.Null(a.Dht.RoutingTable.Find(c.Host.PeerId));

            b.Dht.Dispose();
            await b.Host.DisposeAsync(); // b goes away
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
        var a = await NodeAsync(new KadOptions { RefreshInterval = TimeSpan.Zero, ProviderRepublishInterval = TimeSpan.FromMilliseconds(300) });
        var b = await NodeAsync(new KadOptions { RefreshInterval = TimeSpan.Zero, ProviderValidity = TimeSpan.FromSeconds(3) });
        try
        {
            var republished = 0;
            a.Dht.Republished += (_, n) => Interlocked.Add(ref republished, n);
            byte[] key = [0x12, 0x20, .. SHA256.HashData(Encoding.UTF8.GetBytes("republish me"))];
            await a.Host.DialAsync(Dialable(b.Host), ct);
            await WaitAsync(() => a.Dht.RoutingTable.Find(b.Host.PeerId) is not null, ct);
            Assert.Equal(1, await a.Dht.ProvideAsync(key, ct));
            await WaitAsync(() => b.Dht.Providers.Get(key).Any(p => p.Peer == a.Host.PeerId), ct); // ADD_PROVIDER has no response
            Assert.Equal(TimeSpan.FromSeconds(3), b.Dht.Providers.Validity);
            Assert.Equal(TimeSpan.FromHours(48), new KadOptions().ProviderValidity);
            Assert.Equal(TimeSpan.FromHours(22), new KadOptions().ProviderRepublishInterval);
            Assert.Equal(TimeSpan.FromMinutes(10), new KadOptions().RefreshInterval);

            // well past b's 3 s validity, the record is still there because a re-announces it (every 300 ms: a margin a
            // loaded CI machine keeps, where a 1 s validity did not)
            for (var i = 0; i < 8; i++)
            {
                await Task.Delay(1000, ct);
                Assert.Contains(a.Host.PeerId, b.Dht.Providers.Get(key).Select(p => p.Peer));
            }
            Assert.True(Volatile.Read(ref republished) >= 5);

            // once a stops providing, b's record expires
            Assert.True(a.Dht.StopProviding(key));
            Assert.Empty(a.Dht.ProvidedKeys);
            await WaitAsync(() => b.Dht.Providers.Get(key).Count == 0, ct);
        }
        finally
        {
            await DisposeAsync(a, b);
        }
    }
}
