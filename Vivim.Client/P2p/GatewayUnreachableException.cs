using Vivim.Libp2p.Core;

namespace Vivim.Client.P2p;

/// <summary>
/// The gateway peer could not be dialled, or its connection failed before a stream opened: nothing of the request was
/// sent, so it may be retried elsewhere (another gateway that now owns the DID).
/// </summary>
public sealed class GatewayUnreachableException(Multiaddr peer, Exception inner)
    : IOException($"The gateway peer {peer} is unreachable: {inner.Message}", inner)
{
    public Multiaddr Peer { get; } = peer;
}
