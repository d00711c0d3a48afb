using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Protocols.Identify;

/// <summary>The Identify protobuf (fields 1-6 and 8). Unset fields are null/empty.</summary>
public sealed class IdentifyMessage
{
    public const string ProtocolId = "/ipfs/id/1.0.0";
    public const string PushProtocolId = "/ipfs/id/push/1.0.0";
    /// <summary>Maximum size of one identify message (js/go use 8 KiB; we accept up to 64 KiB).</summary>
    public const int MaxMessageLength = 64 * 1024;
    /// <summary>Maximum number of length-prefixed messages merged from one stream.</summary>
    public const int MaxMessagesPerStream = 10;
    public const int MaxAddresses = 128;
    public const int MaxProtocols = 256;

    public string? ProtocolVersion { get; set; }
    public string? AgentVersion { get; set; }
    public byte[]? PublicKey { get; set; }
    public List<byte[]> ListenAddrs { get; } = [];
    public byte[]? ObservedAddr { get; set; }
    public List<string> Protocols { get; } = [];
    public byte[]? SignedPeerRecord { get; set; }

    public byte[] Encode()
    {
        var w = new ProtoWriter();
        if (PublicKey is not null)
        {
            w.WriteBytesField(1, PublicKey);
        }
        foreach (var a in ListenAddrs)
        {
            w.WriteBytesField(2, a);
        }
        foreach (var p in Protocols)
        {
            w.WriteStringField(3, p);
        }
        if (ObservedAddr is not null)
        {
            w.WriteBytesField(4, ObservedAddr);
        }
        if (ProtocolVersion is not null)
        {
            w.WriteStringField(5, ProtocolVersion);
        }
        if (AgentVersion is not null)
        {
            w.WriteStringField(6, AgentVersion);
        }
        if (SignedPeerRecord is not null)
        {
            w.WriteBytesField(8, SignedPeerRecord);
        }
        return w.ToArray();
    }

    /// <summary>Decodes one message, merging into <paramref name="into"/> when given (later scalars win, lists append).</summary>
    public static IdentifyMessage Decode(ReadOnlySpan<byte> data, IdentifyMessage? into = null)
    {
        if (data.Length > MaxMessageLength)
        {
            throw new MalformedDataException("identify message too large");
        }
        var m = into ?? new IdentifyMessage();
        var r = new ProtoReader(data);
        while (r.TryReadTag(out var f, out var wt))
        {
            switch (f)
            {
                case 1:
                    ProtoReader.Expect(wt, 2, f);
                    m.PublicKey = r.ReadBytes().ToArray();
                    break;
                case 2:
                    ProtoReader.Expect(wt, 2, f);
                    if (m.ListenAddrs.Count >= MaxAddresses)
                    {
                        throw new MalformedDataException("too many listen addresses in identify");
                    }
                    m.ListenAddrs.Add(r.ReadBytes().ToArray());
                    break;
                case 3:
                    ProtoReader.Expect(wt, 2, f);
                    if (m.Protocols.Count >= MaxProtocols)
                    {
                        throw new MalformedDataException("too many protocols in identify");
                    }
                    m.Protocols.Add(r.ReadString());
                    break;
                case 4:
                    ProtoReader.Expect(wt, 2, f);
                    m.ObservedAddr = r.ReadBytes().ToArray();
                    break;
                case 5:
                    ProtoReader.Expect(wt, 2, f);
                    m.ProtocolVersion = r.ReadString();
                    break;
                case 6:
                    ProtoReader.Expect(wt, 2, f);
                    m.AgentVersion = r.ReadString();
                    break;
                case 8:
                    ProtoReader.Expect(wt, 2, f);
                    m.SignedPeerRecord = r.ReadBytes().ToArray();
                    break;
                default:
                    r.Skip(wt);
                    break;
            }
        }
        return m;
    }
}
