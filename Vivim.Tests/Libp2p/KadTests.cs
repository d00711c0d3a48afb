using CsCheck;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Protocols.Kad;
using LimitExceededException = Vivim.Libp2p.Core.LimitExceededException;

namespace Vivim.Tests.Libp2p;

public class KadTests
{
    [Fact]
    public void KadMessage_RoundTrip_AndRandomBytesNeverCrash()
    {
        using var id = Ed25519Identity.Generate();
        var m = new KadMessage { Type = KadMessageType.FindNode, Key = id.PeerId.ToByteArray() };
        m.CloserPeers.Add(new KadPeer(id.PeerId.ToByteArray(), [Multiaddr.Parse("/ip4/1.2.3.4/tcp/5").ToBytes()], KadConnectionType.Connected));
        var d = KadMessage.Decode(m.Encode());
        Assert.Equal(KadMessageType.FindNode, d.Type);
        Assert.Equal(m.Key, d.Key);
        var p = Assert.Single(d.CloserPeers).TryParse();
        Assert.Equal(id.PeerId, p!.Value.Peer);
        Assert.Equal("/ip4/1.2.3.4/tcp/5", Assert.Single(p.Value.Addrs).ToString());
        // proto3 senders omit type 0 (PUT_VALUE)
        Assert.Equal(KadMessageType.PutValue, KadMessage.Decode(new ProtoWriter().WriteBytesField(2, [1]).ToArray()).Type);
        Assert.Throws<MalformedDataException>(() => KadMessage.Decode(new ProtoWriter().WriteVarintField(1, 9).ToArray()));
        Gen.Byte.Array[0, 400].Sample(b =>
        {
            try
            {
                KadMessage.Decode(b);
            }
            catch (MalformedDataException)
            {
            }
            catch (LimitExceededException)
            {
            }
        }, iter: 5000);
        var big = new KadMessage { Type = KadMessageType.FindNode };
        for (var i = 0; i <= KadMessage.MaxPeers; i++)
        {
            big.CloserPeers.Add(new KadPeer([0], [], KadConnectionType.NotConnected));
        }
        Assert.Throws<MalformedDataException>(() => KadMessage.Decode(big.Encode()));
    }

    [Fact]
    public void RoutingTable_NearestIsSortedByXorDistance_AndBucketsCapAtK()
    {
        using var self = Ed25519Identity.Generate();
        var table = new KadRoutingTable(self.PeerId, k: 4);
        var ids = Enumerable.Range(0, 200).Select(_ => Ed25519Identity.Generate()).ToList();
        foreach (var i in ids)
        {
            table.AddOrUpdate(new KadPeerInfo(i.PeerId, []));
        }
        Assert.False(table.AddOrUpdate(new KadPeerInfo(self.PeerId, [])));
        // bucket 0 (half of all ids) is capped at k
        Assert.True(table.Count < 200);
        var target = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        var near = table.Nearest(target, 10);
        var t = KadRoutingTable.KeyOf(target);
        for (var i = 1; i < near.Count; i++)
        {
            Assert.True(KadRoutingTable.CompareDistance(t, KadRoutingTable.KeyOf(near[i - 1].Peer.Bytes), KadRoutingTable.KeyOf(near[i].Peer.Bytes)) <= 0);
        }
        Assert.Equal(256, KadRoutingTable.CommonPrefixLength(t, t));
        Assert.Equal(0, KadRoutingTable.CommonPrefixLength([0x80], [0x00]));
        Assert.Equal(7, KadRoutingTable.CommonPrefixLength([0x01], [0x00]));
        foreach (var i in ids)
        {
            i.Dispose();
        }
    }

    private sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UnixEpoch;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public void ProviderStore_ExpiresAndCapsAndValidatesKeys()
    {
        var time = new ManualTime();
        var store = new KadProviderStore(time, TimeSpan.FromHours(1), maxKeys: 2, maxProvidersPerKey: 2);
        byte[] k1 = [0x12, 0x20, .. new byte[32]];
        byte[] k2 = [0x12, 0x20, .. Enumerable.Repeat((byte)1, 32)];
        byte[] k3 = [0x12, 0x20, .. Enumerable.Repeat((byte)2, 32)];
        var ids = Enumerable.Range(0, 3).Select(_ => Ed25519Identity.Generate()).ToList();
        Assert.True(store.Add(k1, ids[0].PeerId, []));
        Assert.True(store.Add(k1, ids[1].PeerId, []));
        Assert.False(store.Add(k1, ids[2].PeerId, []));   // per-key cap
        Assert.True(store.Add(k2, ids[0].PeerId, []));
        Assert.False(store.Add(k3, ids[0].PeerId, []));   // key cap
        Assert.Equal(2, store.Get(k1).Count);
        time.Now += TimeSpan.FromMinutes(61);
        Assert.Empty(store.Get(k1));                       // expired
        Assert.True(store.Add(k1, ids[2].PeerId, []));
        KadProviderStore.ValidateMultihash(k1);
        Assert.Throws<MalformedDataException>(() => KadProviderStore.ValidateMultihash([0x12, 0x20, 1, 2]));
        Assert.Throws<MalformedDataException>(() => KadProviderStore.ValidateMultihash([]));
        foreach (var i in ids)
        {
            i.Dispose();
        }
    }
}
