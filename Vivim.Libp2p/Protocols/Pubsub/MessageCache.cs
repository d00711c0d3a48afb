namespace Vivim.Libp2p.Protocols.Pubsub;

/// <summary>Sliding-window message cache: <c>history</c> windows kept for IWANT, the newest <c>gossip</c> windows advertised in IHAVE.</summary>
internal sealed class MessageCache
{
    private readonly int _gossip;
    private readonly LinkedList<List<(byte[] Id, string Topic)>> _windows = new();
    private readonly Dictionary<byte[], Entry> _entries = new(ByteArrayComparer.Instance);

    public MessageCache(int history, int gossip)
    {
        _gossip = gossip;
        for (var i = 0; i < history; i++)
        {
            _windows.AddLast([]);
        }
    }

    public int Count => _entries.Count;

    public void Put(byte[] id, PubsubMessage m)
    {
        if (_entries.TryAdd(id, new Entry(m)))
        {
            _windows.First!.Value.Add((id, m.Topic));
        }
    }

    public bool TryGetForPeer(byte[] id, Core.PeerId peer, int maxTransmissions, out PubsubMessage message)
    {
        message = null!;
        if (!_entries.TryGetValue(id, out var e))
        {
            return false;
        }
        var n = e.Sent.GetValueOrDefault(peer) + 1;
        if (n > maxTransmissions)
        {
            return false;
        }
        e.Sent[peer] = n;
        message = e.Message;
        return true;
    }

    public List<byte[]> GossipIds(string topic)
    {
        var ids = new List<byte[]>();
        var w = _windows.First;
        for (var i = 0; i < _gossip && w is not null; i++, w = w.Next)
        {
            foreach (var (id, t) in w.Value)
            {
                if (t == topic)
                {
                    ids.Add(id);
                }
            }
        }
        return ids;
    }

    public void Shift()
    {
        var last = _windows.Last!.Value;
        _windows.RemoveLast();
        foreach (var (id, _) in last)
        {
            _entries.Remove(id);
        }
        last.Clear();
        _windows.AddFirst(last);
    }

    private sealed class Entry(PubsubMessage m)
    {
        public PubsubMessage Message { get; } = m;
        public Dictionary<Core.PeerId, int> Sent { get; } = [];
    }
}
