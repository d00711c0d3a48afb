using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Protocols.Kad;

/// <summary>The /ipfs/kad/1.0.0 Message. The record is kept as raw bytes (Record message) for now.</summary>
public sealed class KadMessage
{
    public const string ProtocolId = "/ipfs/kad/1.0.0";
    /// <summary>Maximum inbound message size (js-libp2p uses 4 MiB for values; peers lists are small).</summary>
    public const int MaxMessageLength = 1024 * 1024;
    public const int MaxPeers = 64;

    public KadMessageType Type { get; set; }
    public int ClusterLevelRaw { get; set; }
    public byte[]? Key { get; set; }
    public byte[]? Record { get; set; }
    public List<KadPeer> CloserPeers { get; } = [];
    public List<KadPeer> ProviderPeers { get; } = [];

    public byte[] Encode()
    {
        var w = new ProtoWriter();
        w.WriteVarintField(1, (ulong)Type); // always emitted (PUT_VALUE = 0 too), harmless for proto3 readers
        if (Key is not null)
        {
            w.WriteBytesField(2, Key);
        }
        if (Record is not null)
        {
            w.WriteBytesField(3, Record);
        }
        foreach (var p in CloserPeers)
        {
            w.WriteBytesField(8, p.Encode());
        }
        foreach (var p in ProviderPeers)
        {
            w.WriteBytesField(9, p.Encode());
        }
        if (ClusterLevelRaw != 0)
        {
            w.WriteVarintField(10, (ulong)ClusterLevelRaw);
        }
        return w.ToArray();
    }

    public static KadMessage Decode(ReadOnlySpan<byte> data)
    {
        if (data.Length > MaxMessageLength)
        {
            throw new MalformedDataException("kad message too large");
        }
        var m = new KadMessage();
        var r = new ProtoReader(data);
        while (r.TryReadTag(out var f, out var wt))
        {
            switch (f)
            {
                case 1:
                    ProtoReader.Expect(wt, 0, f);
                    var t = r.ReadVarint();
                    if (t > 5)
                    {
                        throw new MalformedDataException($"unknown kad message type {t}");
                    }
                    m.Type = (KadMessageType)t;
                    break;
                case 2:
                    ProtoReader.Expect(wt, 2, f);
                    m.Key = r.ReadBytes().ToArray();
                    break;
                case 3:
                    ProtoReader.Expect(wt, 2, f);
                    m.Record = r.ReadBytes().ToArray();
                    break;
                case 8:
                case 9:
                    ProtoReader.Expect(wt, 2, f);
                    var list = f == 8 ? m.CloserPeers : m.ProviderPeers;
                    if (list.Count >= MaxPeers)
                    {
                        throw new MalformedDataException("too many peers in kad message");
                    }
                    list.Add(KadPeer.Decode(r.ReadBytes()));
                    break;
                case 10:
                    ProtoReader.Expect(wt, 0, f);
                    m.ClusterLevelRaw = (int)r.ReadVarint();
                    break;
                default:
                    r.Skip(wt);
                    break;
            }
        }
        return m;
    }
}
