namespace Vivim.Client.Http;

/// <summary>How <see cref="HttpSyncTransport"/> talks to a gateway.</summary>
public sealed record HttpSyncTransportOptions
{
    /// <summary>
    /// Open the WebSocket with a single-use ticket (<c>POST …/sync-ticket</c>, then <c>?ticket=</c>) instead of a
    /// signed upgrade: what browsers must do, since they cannot set headers on an upgrade.
    /// </summary>
    public bool UseSyncTicket { get; init; }

    /// <summary>First wait before reconnecting a dropped WebSocket; doubled per failed attempt up to <see cref="ReconnectMaxDelay"/>.</summary>
    public TimeSpan ReconnectInitialDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    public TimeSpan ReconnectMaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A live socket that receives nothing for this long is taken for dead and reconnected (the gateway sends a head
    /// heartbeat at least every 15 s).
    /// </summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(45);

    /// <summary>Largest WebSocket message (and decompressed message) accepted.</summary>
    public int MaxMessageBytes { get; init; } = SyncChannelCodec.DefaultMaxMessageBytes;

    /// <summary>Largest HTTP answer accepted, except snapshots.</summary>
    public int MaxResponseBytes { get; init; } = GatewayHttp.MaxResponseBytes;

    /// <summary>Largest snapshot accepted.</summary>
    public int MaxSnapshotBytes { get; init; } = GatewayHttp.MaxSnapshotBytes;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
