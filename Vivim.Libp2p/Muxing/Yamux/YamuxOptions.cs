using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Muxing.Yamux;

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
