using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Security.Noise;

/// <summary>libp2p NoiseHandshakePayload { identity_key = 1; identity_sig = 2; extensions = 4 { stream_muxers = 2 } }.</summary>
public sealed record NoiseHandshakePayload(byte[] IdentityKey, byte[] IdentitySignature, IReadOnlyList<string> StreamMuxers)
{
    public const int MaxLength = 8192;
    public const int MaxMuxers = 16;

    public byte[] Encode()
    {
        var w = new ProtoWriter().WriteBytesField(1, IdentityKey).WriteBytesField(2, IdentitySignature);
        if (StreamMuxers.Count > 0)
        {
            var ext = new ProtoWriter();
            foreach (var m in StreamMuxers)
            {
                ext.WriteStringField(2, m);
            }
            w.WriteBytesField(4, ext.ToArray());
        }
        return w.ToArray();
    }

    public static NoiseHandshakePayload Decode(ReadOnlySpan<byte> data)
    {
        if (data.Length > MaxLength)
        {
            throw new MalformedDataException("noise handshake payload too large");
        }
        var r = new ProtoReader(data);
        byte[]? key = null;
        byte[]? sig = null;
        var muxers = new List<string>();
        while (r.TryReadTag(out var f, out var wt))
        {
            switch (f)
            {
                case 1:
                    ProtoReader.Expect(wt, 2, f);
                    key = r.ReadBytes().ToArray();
                    break;
                case 2:
                    ProtoReader.Expect(wt, 2, f);
                    sig = r.ReadBytes().ToArray();
                    break;
                case 4:
                    ProtoReader.Expect(wt, 2, f);
                    var er = new ProtoReader(r.ReadBytes());
                    while (er.TryReadTag(out var ef, out var ewt))
                    {
                        if (ef == 2 && ewt == 2)
                        {
                            if (muxers.Count >= MaxMuxers)
                            {
                                throw new MalformedDataException("too many stream muxers in noise extensions");
                            }
                            muxers.Add(er.ReadString());
                        }
                        else
                        {
                            er.Skip(ewt);
                        }
                    }
                    break;
                default:
                    r.Skip(wt);
                    break;
            }
        }
        if (key is null || sig is null || key.Length == 0 || sig.Length == 0)
        {
            throw new MalformedDataException("noise handshake payload lacks identity_key or identity_sig");
        }
        return new NoiseHandshakePayload(key, sig, muxers);
    }
}
