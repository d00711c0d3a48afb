using System.Security.Cryptography;
using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Protocols.Kad;

/// <summary>
/// Kademlia routing table: 256 k-buckets by common-prefix length of SHA-256(peer id bytes) with our own key.
/// A full bucket keeps its existing (older, proven) entries and drops newcomers; <see cref="KadDht"/> first pings the
/// bucket's least-recently-seen peer (<see cref="LeastRecentlySeen"/>) and replaces it when it does not answer. Thread-safe.
/// </summary>
public sealed class KadRoutingTable
{
    private readonly byte[] _self;
    private readonly List<KadPeerInfo>[] _buckets = new List<KadPeerInfo>[257];
    private readonly object _gate = new();

    public KadRoutingTable(PeerId self, int k = 20)
    {
        _self = KeyOf(self.Bytes);
        K = k;
        for (var i = 0; i < _buckets.Length; i++)
        {
            _buckets[i] = [];
        }
    }

    public int K { get; }

    public static byte[] KeyOf(ReadOnlySpan<byte> key) => SHA256.HashData(key);

    public static int CommonPrefixLength(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        for (var i = 0; i < a.Length; i++)
        {
            var x = a[i] ^ b[i];
            if (x != 0)
            {
                return (i * 8) + System.Numerics.BitOperations.LeadingZeroCount((uint)x) - 24;
            }
        }
        return a.Length * 8;
    }

    /// <summary>Compares XOR distances of a and b to target: negative when a is closer.</summary>
    public static int CompareDistance(ReadOnlySpan<byte> target, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        for (var i = 0; i < target.Length; i++)
        {
            var da = a[i] ^ target[i];
            var db = b[i] ^ target[i];
            if (da != db)
            {
                return da < db ? -1 : 1;
            }
        }
        return 0;
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _buckets.Sum(b => b.Count);
            }
        }
    }

    /// <summary>Adds or refreshes a peer (moves it to the bucket tail). Returns false when its bucket is full or it is us.</summary>
    public bool AddOrUpdate(KadPeerInfo peer)
    {
        var key = KeyOf(peer.Peer.Bytes);
        var cpl = CommonPrefixLength(_self, key);
        if (cpl == 256)
        {
            return false;
        }
        lock (_gate)
        {
            var bucket = _buckets[cpl];
            var idx = bucket.FindIndex(p => p.Peer == peer.Peer);
            if (idx >= 0)
            {
                var merged = peer.Addresses.Count > 0 ? peer : bucket[idx];
                bucket.RemoveAt(idx);
                bucket.Add(merged);
                return true;
            }
            if (bucket.Count >= K)
            {
                return false;
            }
            bucket.Add(peer);
            return true;
        }
    }

    /// <summary>Common-prefix length of SHA-256(<paramref name="key"/>) with our key: the bucket a key falls in (256 = ours).</summary>
    public int BucketOf(ReadOnlySpan<byte> key) => CommonPrefixLength(_self, KeyOf(key));

    /// <summary>The head (least recently seen) of the full bucket <paramref name="newcomer"/> falls in; null when there is room or it is known.</summary>
    public KadPeerInfo? LeastRecentlySeen(PeerId newcomer)
    {
        var cpl = BucketOf(newcomer.Bytes);
        if (cpl == 256)
        {
            return null;
        }
        lock (_gate)
        {
            var bucket = _buckets[cpl];
            return bucket.Count >= K && !bucket.Exists(p => p.Peer == newcomer) ? bucket[0] : null;
        }
    }

    /// <summary>Replaces <paramref name="old"/> by <paramref name="newcomer"/> (same bucket) when old is still there; true when done.</summary>
    public bool Replace(PeerId old, KadPeerInfo newcomer)
    {
        var cpl = BucketOf(newcomer.Peer.Bytes);
        if (cpl == 256 || BucketOf(old.Bytes) != cpl)
        {
            return false;
        }
        lock (_gate)
        {
            var bucket = _buckets[cpl];
            if (bucket.RemoveAll(p => p.Peer == old) == 0 || bucket.Exists(p => p.Peer == newcomer.Peer))
            {
                return false;
            }
            bucket.Add(newcomer);
            return true;
        }
    }

    /// <summary>The highest bucket index holding a peer, or -1 when empty.</summary>
    public int HighestNonEmptyBucket
    {
        get
        {
            lock (_gate)
            {
                return Array.FindLastIndex(_buckets, b => b.Count > 0);
            }
        }
    }

    public bool Remove(PeerId peer)
    {
        var cpl = CommonPrefixLength(_self, KeyOf(peer.Bytes));
        if (cpl == 256)
        {
            return false;
        }
        lock (_gate)
        {
            return _buckets[cpl].RemoveAll(p => p.Peer == peer) > 0;
        }
    }

    public KadPeerInfo? Find(PeerId peer)
    {
        lock (_gate)
        {
            return _buckets.SelectMany(b => b).FirstOrDefault(p => p.Peer == peer);
        }
    }

    /// <summary>The <paramref name="count"/> peers closest to SHA-256(<paramref name="key"/>).</summary>
    public IReadOnlyList<KadPeerInfo> Nearest(ReadOnlySpan<byte> key, int count, PeerId? exclude = null)
    {
        var target = KeyOf(key);
        List<(KadPeerInfo P, byte[] K)> all;
        lock (_gate)
        {
            all = [.. _buckets.SelectMany(b => b).Where(p => p.Peer != exclude).Select(p => (p, KeyOf(p.Peer.Bytes)))];
        }
        all.Sort((x, y) => CompareDistance(target, x.K, y.K));
        return [.. all.Take(count).Select(x => x.P)];
    }
}
