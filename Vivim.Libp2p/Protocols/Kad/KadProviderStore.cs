using System.Collections.Concurrent;
using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Protocols.Kad;

/// <summary>Provider records keyed by multihash, with expiry and caps on keys and providers per key. Thread-safe.</summary>
public sealed class KadProviderStore
{
    private readonly ConcurrentDictionary<string, Dictionary<PeerId, (IReadOnlyList<Multiaddr> Addrs, DateTimeOffset Expires)>> _records = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    public KadProviderStore(TimeProvider? time = null, TimeSpan? validity = null, int maxKeys = 100_000, int maxProvidersPerKey = 64)
    {
        _time = time ?? TimeProvider.System;
        Validity = validity ?? TimeSpan.FromHours(48);
        MaxKeys = maxKeys;
        MaxProvidersPerKey = maxProvidersPerKey;
    }

    public TimeSpan Validity { get; }

    public int MaxKeys { get; }

    public int MaxProvidersPerKey { get; }

    /// <summary>Checks that a key is a multihash (code, length, digest of that length); throws <see cref="MalformedDataException"/>.</summary>
    public static void ValidateMultihash(ReadOnlySpan<byte> key)
    {
        if (key.Length > 128)
        {
            throw new MalformedDataException("provider key too long");
        }
        Varint.Read(key, out var n1);
        var len = Varint.Read(key[n1..], out var n2);
        if ((ulong)(key.Length - n1 - n2) != len)
        {
            throw new MalformedDataException("provider key is not a multihash");
        }
    }

    public bool Add(ReadOnlySpan<byte> key, PeerId provider, IReadOnlyList<Multiaddr> addrs)
    {
        var k = Convert.ToHexString(key);
        if (!_records.ContainsKey(k) && _records.Count >= MaxKeys)
        {
            return false;
        }
        var set = _records.GetOrAdd(k, _ => []);
        lock (set)
        {
            Prune(set);
            if (!set.ContainsKey(provider) && set.Count >= MaxProvidersPerKey)
            {
                return false;
            }
            set[provider] = (addrs, _time.GetUtcNow() + Validity);
            return true;
        }
    }

    /// <summary>Drops <paramref name="provider"/>'s record for <paramref name="key"/> (a provider withdrawing its own).</summary>
    public bool Remove(ReadOnlySpan<byte> key, PeerId provider)
    {
        if (!_records.TryGetValue(Convert.ToHexString(key), out var set))
        {
            return false;
        }
        lock (set)
        {
            return set.Remove(provider);
        }
    }

    public IReadOnlyList<KadPeerInfo> Get(ReadOnlySpan<byte> key)
    {
        if (!_records.TryGetValue(Convert.ToHexString(key), out var set))
        {
            return [];
        }
        lock (set)
        {
            Prune(set);
            return [.. set.Select(kv => new KadPeerInfo(kv.Key, kv.Value.Addrs))];
        }
    }

    /// <summary>When <paramref name="provider"/>'s record for <paramref name="key"/> expires (null if it has none; tests).</summary>
    internal DateTimeOffset? ExpiresAt(ReadOnlySpan<byte> key, PeerId provider)
    {
        if (!_records.TryGetValue(Convert.ToHexString(key), out var set))
        {
            return null;
        }
        lock (set)
        {
            Prune(set);
            return set.TryGetValue(provider, out var r) ? r.Expires : null;
        }
    }

    private void Prune(Dictionary<PeerId, (IReadOnlyList<Multiaddr> Addrs, DateTimeOffset Expires)> set)
    {
        var now = _time.GetUtcNow();
        foreach (var dead in set.Where(kv => kv.Value.Expires <= now).Select(kv => kv.Key).ToList())
        {
            set.Remove(dead);
        }
    }
}
