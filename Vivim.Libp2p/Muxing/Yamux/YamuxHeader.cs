using System.Buffers.Binary;
using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Muxing.Yamux;

/// <summary>A 12-byte Yamux header: version(0) | type | flags | stream id | length, big endian.</summary>
public readonly record struct YamuxHeader(YamuxFrameType Type, YamuxFlags Flags, uint StreamId, uint Length)
{
    public const int Size = 12;
    public const byte Version = 0;

    public void Write(Span<byte> dest)
    {
        dest[0] = Version;
        dest[1] = (byte)Type;
        BinaryPrimitives.WriteUInt16BigEndian(dest[2..], (ushort)Flags);
        BinaryPrimitives.WriteUInt32BigEndian(dest[4..], StreamId);
        BinaryPrimitives.WriteUInt32BigEndian(dest[8..], Length);
    }

    /// <summary>Parses and validates version, type and flag bits; throws <see cref="YamuxProtocolException"/>.</summary>
    public static YamuxHeader Parse(ReadOnlySpan<byte> src)
    {
        if (src.Length < Size)
        {
            throw new YamuxProtocolException("truncated yamux header");
        }
        if (src[0] != Version)
        {
            throw new YamuxProtocolException($"unsupported yamux version {src[0]}");
        }
        if (src[1] > (byte)YamuxFrameType.GoAway)
        {
            throw new YamuxProtocolException($"unknown yamux frame type {src[1]}");
        }
        var flags = BinaryPrimitives.ReadUInt16BigEndian(src[2..]);
        if ((flags & ~0xF) != 0)
        {
            throw new YamuxProtocolException($"unknown yamux flags 0x{flags:x}");
        }
        return new YamuxHeader((YamuxFrameType)src[1], (YamuxFlags)flags,
            BinaryPrimitives.ReadUInt32BigEndian(src[4..]), BinaryPrimitives.ReadUInt32BigEndian(src[8..]));
    }
}
