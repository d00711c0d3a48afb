using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Libp2p.Protocols.Kad;
using Vivim.Libp2p.Protocols.Pubsub;

namespace Vivim.Gateway.P2p;

/// <summary>This gateway silo's libp2p peer: its host, its DHT node (server mode) and its GossipSub router.</summary>
public sealed class GatewayPeer(Libp2pHost host, KadDht dht, GossipSub pubsub, IReadOnlyList<Multiaddr>? announce = null)
{
    public Libp2pHost Host { get; } = host;

    public KadDht Dht { get; } = dht;

    public GossipSub Pubsub { get; } = pubsub;

    public PeerId PeerId => Host.PeerId;

    /// <summary>
    /// The addresses this gateway advertises, without the <c>/p2p/</c> suffix: <c>Vivim:P2p:Announce</c> when set,
    /// else the bound listen addresses (never a <c>/tcp/0</c>, so only meaningful once the host has started). The same
    /// addresses identify sends.
    /// </summary>
    public IReadOnlyList<Multiaddr> AnnounceAddresses =>
        announce is { Count: > 0 } ? announce : [.. Host.AdvertisedAddresses.Where(a => !a.ToString().EndsWith("/tcp/0", StringComparison.Ordinal))];

    /// <summary>Every protocol id the peer serves, sorted: the list identify sends and <c>GET /v1/p2p</c> answers.</summary>
    public IReadOnlyCollection<string> Protocols => Host.Protocols;
}
