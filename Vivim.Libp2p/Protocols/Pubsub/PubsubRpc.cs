using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Protocols.Pubsub;

/// <summary>The pubsub RPC frame (hand-written protobuf codec). Unknown fields (IDONTWANT, go extensions) are skipped.</summary>
public sealed class PubsubRpc
{
    public List<PubsubSubOpts> Subscriptions { get; } = [];
    public List<PubsubMessage> Messages { get; } = [];
    public List<PubsubIHave> IHave { get; } = [];
    public List<byte[]> IWant { get; } = [];
    public List<PubsubGraft> Graft { get; } = [];
    public List<PubsubPrune> Prune { get; } = [];

    public bool HasControl => IHave.Count + IWant.Count + Graft.Count + Prune.Count > 0;

    public bool IsEmpty => Subscriptions.Count == 0 && Messages.Count == 0 && !HasControl;

    public byte[] Encode()
    {
        var w = new ProtoWriter();
        foreach (var s in Subscriptions)
        {
            w.WriteBytesField(1, new ProtoWriter().WriteVarintField(1, s.Subscribe ? 1UL : 0UL).WriteStringField(2, s.Topic).ToArray());
        }
        foreach (var m in Messages)
        {
            w.WriteBytesField(2, m.Encode());
        }
        if (HasControl)
        {
            var c = new ProtoWriter();
            foreach (var ih in IHave)
            {
                var x = new ProtoWriter().WriteStringField(1, ih.Topic);
                foreach (var id in ih.MessageIds)
                {
                    x.WriteBytesField(2, id);
                }
                c.WriteBytesField(1, x.ToArray());
            }
            if (IWant.Count > 0)
            {
                var x = new ProtoWriter();
                foreach (var id in IWant)
                {
                    x.WriteBytesField(1, id);
                }
                c.WriteBytesField(2, x.ToArray());
            }
            foreach (var g in Graft)
            {
                c.WriteBytesField(3, new ProtoWriter().WriteStringField(1, g.Topic).ToArray());
            }
            foreach (var p in Prune)
            {
                var x = new ProtoWriter().WriteStringField(1, p.Topic);
                foreach (var peer in p.PeerIds)
                {
                    x.WriteBytesField(2, new ProtoWriter().WriteBytesField(1, peer).ToArray());
                }
                if (p.BackoffSeconds is { } b)
                {
                    x.WriteVarintField(3, b);
                }
                c.WriteBytesField(4, x.ToArray());
            }
            w.WriteBytesField(3, c.ToArray());
        }
        return w.ToArray();
    }

    public static PubsubRpc Decode(ReadOnlySpan<byte> data, PubsubLimits? limits = null)
    {
        limits ??= Default;
        if (data.Length > limits.MaxRpcLength)
        {
            throw new LimitExceededException("pubsub RPC too large");
        }
        var rpc = new PubsubRpc();
        var r = new ProtoReader(data);
        while (r.TryReadTag(out var f, out var wt))
        {
            switch (f)
            {
                case 1:
                {
                    ProtoReader.Expect(wt, 2, f);
                    if (rpc.Subscriptions.Count >= limits.MaxSubscriptions)
                    {
                        throw new LimitExceededException("too many subscriptions in pubsub RPC");
                    }
                    var s = new ProtoReader(r.ReadBytes());
                    bool sub = false;
                    string? topic = null;
                    while (s.TryReadTag(out var sf, out var swt))
                    {
                        if (sf == 1) { ProtoReader.Expect(swt, 0, sf); sub = s.ReadVarint() != 0; }
                        else if (sf == 2) { ProtoReader.Expect(swt, 2, sf); topic = ReadTopic(ref s, limits); }
                        else { s.Skip(swt); }
                    }
                    if (topic is null)
                    {
                        throw new MalformedDataException("pubsub subscription without topic");
                    }
                    rpc.Subscriptions.Add(new PubsubSubOpts(sub, topic));
                    break;
                }
                case 2:
                    ProtoReader.Expect(wt, 2, f);
                    if (rpc.Messages.Count >= limits.MaxMessages)
                    {
                        throw new LimitExceededException("too many messages in pubsub RPC");
                    }
                    rpc.Messages.Add(PubsubMessage.Decode(r.ReadBytes(), limits));
                    break;
                case 3:
                    ProtoReader.Expect(wt, 2, f);
                    DecodeControl(r.ReadBytes(), rpc, limits);
                    break;
                default:
                    r.Skip(wt);
                    break;
            }
        }
        return rpc;
    }

    private static readonly PubsubLimits Default = new();

    private static string ReadTopic(ref ProtoReader r, PubsubLimits limits)
    {
        var t = r.ReadString();
        if (t.Length > limits.MaxTopicLength)
        {
            throw new LimitExceededException("pubsub topic too long");
        }
        return t;
    }

    private static byte[] ReadId(ref ProtoReader r, PubsubLimits limits)
    {
        var id = r.ReadBytes();
        if (id.Length > limits.MaxMessageIdLength)
        {
            throw new LimitExceededException("pubsub message id too long");
        }
        return id.ToArray();
    }

    private static void DecodeControl(ReadOnlySpan<byte> data, PubsubRpc rpc, PubsubLimits limits)
    {
        var r = new ProtoReader(data);
        var entries = 0;
        var ids = 0;
        while (r.TryReadTag(out var f, out var wt))
        {
            if (f is >= 1 and <= 4)
            {
                ProtoReader.Expect(wt, 2, f);
                if (++entries > limits.MaxControlEntries)
                {
                    throw new LimitExceededException("too many pubsub control entries");
                }
            }
            switch (f)
            {
                case 1:
                {
                    var x = new ProtoReader(r.ReadBytes());
                    string topic = "";
                    var list = new List<byte[]>();
                    while (x.TryReadTag(out var xf, out var xwt))
                    {
                        if (xf == 1) { ProtoReader.Expect(xwt, 2, xf); topic = ReadTopic(ref x, limits); }
                        else if (xf == 2)
                        {
                            ProtoReader.Expect(xwt, 2, xf);
                            if (++ids > limits.MaxIdsPerControl)
                            {
                                throw new LimitExceededException("too many message ids in pubsub control");
                            }
                            list.Add(ReadId(ref x, limits));
                        }
                        else { x.Skip(xwt); }
                    }
                    rpc.IHave.Add(new PubsubIHave(topic, list));
                    break;
                }
                case 2:
                {
                    var x = new ProtoReader(r.ReadBytes());
                    while (x.TryReadTag(out var xf, out var xwt))
                    {
                        if (xf == 1)
                        {
                            ProtoReader.Expect(xwt, 2, xf);
                            if (++ids > limits.MaxIdsPerControl)
                            {
                                throw new LimitExceededException("too many message ids in pubsub control");
                            }
                            rpc.IWant.Add(ReadId(ref x, limits));
                        }
                        else { x.Skip(xwt); }
                    }
                    break;
                }
                case 3:
                {
                    var x = new ProtoReader(r.ReadBytes());
                    string topic = "";
                    while (x.TryReadTag(out var xf, out var xwt))
                    {
                        if (xf == 1) { ProtoReader.Expect(xwt, 2, xf); topic = ReadTopic(ref x, limits); }
                        else { x.Skip(xwt); }
                    }
                    rpc.Graft.Add(new PubsubGraft(topic));
                    break;
                }
                case 4:
                {
                    var x = new ProtoReader(r.ReadBytes());
                    string topic = "";
                    ulong? backoff = null;
                    var peers = new List<byte[]>();
                    while (x.TryReadTag(out var xf, out var xwt))
                    {
                        if (xf == 1) { ProtoReader.Expect(xwt, 2, xf); topic = ReadTopic(ref x, limits); }
                        else if (xf == 2)
                        {
                            ProtoReader.Expect(xwt, 2, xf);
                            if (++ids > limits.MaxIdsPerControl)
                            {
                                throw new LimitExceededException("too many peers in pubsub prune");
                            }
                            var pi = new ProtoReader(x.ReadBytes());
                            while (pi.TryReadTag(out var pf, out var pwt))
                            {
                                if (pf == 1) { ProtoReader.Expect(pwt, 2, pf); peers.Add(pi.ReadBytes().ToArray()); }
                                else { pi.Skip(pwt); }
                            }
                        }
                        else if (xf == 3) { ProtoReader.Expect(xwt, 0, xf); backoff = x.ReadVarint(); }
                        else { x.Skip(xwt); }
                    }
                    rpc.Prune.Add(new PubsubPrune(topic, peers, backoff));
                    break;
                }
                default:
                    r.Skip(wt);
                    break;
            }
        }
    }
}
