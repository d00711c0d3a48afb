namespace Vivim.Client.P2p.Relay;

/// <summary>How a relay clone serves (<see cref="CloneRelay"/>).</summary>
public sealed record CloneRelayOptions
{
    /// <summary>How long the parent's word about a peer (registered, trust, suspended) is taken before asking again.</summary>
    public TimeSpan PeerTrustTtl { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A request not fully received within this is dropped (the stream reset).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>At most this many updates per page, whatever a peer asks (as the gateway).</summary>
    public int MaxPageSize { get; init; } = 1000;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
