using Microsoft.Extensions.Logging;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Muxing.Yamux;

namespace Vivim.Libp2p.Host;

/// <summary>Settings produced by <see cref="Libp2pHostBuilder"/>.</summary>
public sealed class Libp2pHostOptions
{
    public required Ed25519Identity Identity { get; init; }
    public IReadOnlyList<Multiaddr> ListenAddresses { get; init; } = [];
    /// <summary>
    /// The addresses other peers should dial (public addresses behind NAT or a load balancer), without <c>/p2p/</c>:
    /// identify advertises these instead of the bound listen addresses when set.
    /// </summary>
    public IReadOnlyList<Multiaddr> AnnounceAddresses { get; init; } = [];
    public string AgentVersion { get; init; } = "vivim-libp2p/0.1.0";
    public string ProtocolVersion { get; init; } = "ipfs/0.1.0";
    /// <summary>Total open connections (inbound + outbound); inbound beyond it are closed at once.</summary>
    public int MaxConnections { get; init; } = 256;
    /// <summary>Inbound connections still in the security/muxer handshake.</summary>
    public int MaxPendingInbound { get; init; } = 64;
    /// <summary>Bound on TCP connect + multistream + Noise + muxer negotiation.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Bound on multistream negotiation of an inbound stream.</summary>
    public TimeSpan StreamNegotiationTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public YamuxOptions Yamux { get; init; } = new();
    public ILoggerFactory? LoggerFactory { get; init; }
    /// <summary>Run identify automatically on every new connection.</summary>
    public bool AutoIdentify { get; init; } = true;
    /// <summary>
    /// The clock of every timeout, delay, timer and timestamp in the host and in the protocols built on it (Yamux
    /// keepalive, Kademlia maintenance, GossipSub heartbeat); tests pass a fake one to drive time explicitly.
    /// </summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
