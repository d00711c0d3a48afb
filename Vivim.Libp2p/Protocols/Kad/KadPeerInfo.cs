using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Protocols.Kad;

/// <summary>A known DHT server peer and its addresses.</summary>
public sealed record KadPeerInfo(PeerId Peer, IReadOnlyList<Multiaddr> Addresses);
