using System.Collections.Concurrent;
using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Protocols.Kad;

/// <summary>In-memory value records of a DHT node, keyed by record key.</summary>
public sealed class KadRecordStore
{
    private readonly ConcurrentDictionary<string, KadRecord> _records = new();

    public const int MaxRecords = 100_000;

    public int Count => _records.Count;

    public KadRecord? Get(byte[] key) => _records.TryGetValue(Convert.ToBase64String(key), out var r) ? r : null;

    /// <summary>Stores the record unless the stored one is better per <paramref name="validator"/>; returns whether it was stored.</summary>
    public bool Put(KadRecord record, IKadRecordValidator validator)
    {
        var k = Convert.ToBase64String(record.Key);
        lock (_records)
        {
            if (_records.TryGetValue(k, out var existing) && validator.Select(record.Key, [existing.Value, record.Value]) == 0 &&
                !existing.Value.AsSpan().SequenceEqual(record.Value))
            {
                return false;
            }
            if (existing is null && _records.Count >= MaxRecords)
            {
                throw new LimitExceededException("kad record store is full");
            }
            _records[k] = record;
            return true;
        }
    }
}
