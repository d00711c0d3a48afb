namespace Vivim.Libp2p.Protocols.Pubsub;

/// <summary>Ids seen within the TTL (first-seen time based).</summary>
internal sealed class SeenCache(TimeSpan ttl)
{
    private readonly Dictionary<byte[], DateTime> _seen = new(ByteArrayComparer.Instance);
    private readonly Queue<(byte[] Id, DateTime At)> _order = new();

    public int Count => _seen.Count;

    public bool Contains(byte[] id, DateTime now) => _seen.TryGetValue(id, out var at) && now - at < ttl;

    public void Add(byte[] id, DateTime now)
    {
        if (_seen.TryAdd(id, now))
        {
            _order.Enqueue((id, now));
        }
    }

    public void Sweep(DateTime now)
    {
        while (_order.TryPeek(out var e) && now - e.At >= ttl)
        {
            _order.Dequeue();
            _seen.Remove(e.Id);
        }
    }
}
