using System.Buffers.Binary;
using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Muxing.Yamux;

public enum YamuxFrameType : byte
{
    Data = 0,
    WindowUpdate = 1,
    Ping = 2,
    GoAway = 3,
}

[Flags]
public enum YamuxFlags : ushort
{
    None = 0,
    Syn = 1,
    Ack = 2,
    Fin = 4,
    Rst = 8,
}

public enum YamuxGoAwayCode : uint
{
    Normal = 0,
    ProtocolError = 1,
    InternalError = 2,
}

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

/// <summary>Yamux session settings.</summary>
public sealed class YamuxOptions
{
    public const int DefaultWindow = 256 * 1024;

    /// <summary>Receive window granted per stream (≥ 256 KiB; extra is granted with a window update on open).</summary>
    public int ReceiveWindow { get; init; } = 4 * 1024 * 1024;

    /// <summary>Maximum payload per Data frame we send.</summary>
    public int MaxFrameData { get; init; } = 64 * 1024;

    /// <summary>Concurrent inbound streams allowed; extra SYNs are answered with RST.</summary>
    public int MaxInboundStreams { get; init; } = 512;

    /// <summary>Concurrent outbound streams allowed; opening more throws <see cref="LimitExceededException"/>.</summary>
    public int MaxOutboundStreams { get; init; } = 1024;

    /// <summary>Outbound streams not yet acknowledged before opening waits (spec: 256).</summary>
    public int MaxAckBacklog { get; init; } = 256;

    /// <summary>Inbound streams waiting to be accepted before new SYNs are refused.</summary>
    public int AcceptBacklog { get; init; } = 256;

    /// <summary>Keepalive ping interval; null disables. A ping unanswered by the next tick closes the session.</summary>
    public TimeSpan? KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>After a local Dispose, how long to wait for the remote's FIN before resetting the stream.</summary>
    public TimeSpan StreamCloseTimeout { get; init; } = TimeSpan.FromMinutes(1);
}
