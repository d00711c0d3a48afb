using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Protocols.Pubsub;

/// <summary>A pubsub message (Message protobuf). <c>From</c> holds peer-id bytes; <c>Seqno</c> is 8 bytes big-endian.</summary>
public sealed class PubsubMessage
{
    public byte[]? From { get; set; }
    public byte[] Data { get; set; } = [];
    public byte[]? Seqno { get; set; }
    public string Topic { get; set; } = "";
    public byte[]? Signature { get; set; }
    public byte[]? Key { get; set; }

    /// <summary>Fields 1–4 only, in tag order: the bytes a StrictSign signature covers.</summary>
    public byte[] EncodeForSigning()
    {
        var w = new ProtoWriter();
        WriteUnsigned(w);
        return w.ToArray();
    }

    private void WriteUnsigned(ProtoWriter w)
    {
        if (From is not null)
        {
            w.WriteBytesField(1, From);
        }
        w.WriteBytesField(2, Data);
        if (Seqno is not null)
        {
            w.WriteBytesField(3, Seqno);
        }
        w.WriteStringField(4, Topic);
    }

    internal void Write(ProtoWriter w)
    {
        WriteUnsigned(w);
        if (Signature is not null)
        {
            w.WriteBytesField(5, Signature);
        }
        if (Key is not null)
        {
            w.WriteBytesField(6, Key);
        }
    }

    public byte[] Encode()
    {
        var w = new ProtoWriter();
        Write(w);
        return w.ToArray();
    }

    internal static PubsubMessage Decode(ReadOnlySpan<byte> data, PubsubLimits limits)
    {
        var r = new ProtoReader(data);
        var m = new PubsubMessage();
        var hasTopic = false;
        while (r.TryReadTag(out var f, out var wt))
        {
            switch (f)
            {
                case 1: ProtoReader.Expect(wt, 2, f); m.From = r.ReadBytes().ToArray(); break;
                case 2: ProtoReader.Expect(wt, 2, f); m.Data = r.ReadBytes().ToArray(); break;
                case 3: ProtoReader.Expect(wt, 2, f); m.Seqno = r.ReadBytes().ToArray(); break;
                case 4:
                    ProtoReader.Expect(wt, 2, f);
                    m.Topic = r.ReadString();
                    hasTopic = true;
                    if (m.Topic.Length > limits.MaxTopicLength)
                    {
                        throw new LimitExceededException("pubsub topic too long");
                    }
                    break;
                case 5: ProtoReader.Expect(wt, 2, f); m.Signature = r.ReadBytes().ToArray(); break;
                case 6: ProtoReader.Expect(wt, 2, f); m.Key = r.ReadBytes().ToArray(); break;
                default: r.Skip(wt); break;
            }
        }
        if (!hasTopic)
        {
            throw new MalformedDataException("pubsub message without topic");
        }
        return m;
    }
}
