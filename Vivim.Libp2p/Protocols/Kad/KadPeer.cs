using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Protocols.Kad;

/// <summary>Message.Peer: id (peer id bytes), binary multiaddrs, connection type.</summary>
public sealed record KadPeer(byte[] Id, IReadOnlyList<byte[]> Addrs, KadConnectionType Connection)
{
    public const int MaxAddrs = 64;

    public byte[] Encode()
    {
        var w = new ProtoWriter().WriteBytesField(1, Id);
        foreach (var a in Addrs)
        {
            w.WriteBytesField(2, a);
        }
        if (Connection != KadConnectionType.NotConnected)
        {
            w.WriteVarintField(3, (ulong)Connection);
        }
        return w.ToArray();
    }

    public static KadPeer Decode(ReadOnlySpan<byte> data)
    {
        var r = new ProtoReader(data);
        byte[]? id = null;
        var addrs = new List<byte[]>();
        var conn = KadConnectionType.NotConnected;
        while (r.TryReadTag(out var f, out var wt))
        {
            switch (f)
            {
                case 1:
                    ProtoReader.Expect(wt, 2, f);
                    id = r.ReadBytes().ToArray();
                    break;
                case 2:
                    ProtoReader.Expect(wt, 2, f);
                    if (addrs.Count >= MaxAddrs)
                    {
                        throw new MalformedDataException("too many addresses for one kad peer");
                    }
                    addrs.Add(r.ReadBytes().ToArray());
                    break;
                case 3:
                    ProtoReader.Expect(wt, 0, f);
                    var c = r.ReadVarint();
                    conn = c <= 3 ? (KadConnectionType)c : KadConnectionType.NotConnected;
                    break;
                default:
                    r.Skip(wt);
                    break;
            }
        }
        return new KadPeer(id ?? throw new MalformedDataException("kad peer without id"), addrs, conn);
    }

    /// <summary>Parsed peer id and the addresses we could parse; null when the id is not a valid peer id.</summary>
    public (PeerId Peer, IReadOnlyList<Multiaddr> Addrs)? TryParse()
    {
        PeerId pid;
        try
        {
            pid = PeerId.FromBytes(Id);
        }
        catch (MalformedDataException)
        {
            return null;
        }
        var list = new List<Multiaddr>();
        foreach (var a in Addrs)
        {
            if (Multiaddr.TryParseBytes(a, out var ma))
            {
                list.Add(ma!);
            }
        }
        return (pid, list);
    }
}
