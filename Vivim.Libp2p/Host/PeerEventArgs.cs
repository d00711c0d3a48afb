using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Host;

public sealed class PeerEventArgs(PeerId peer, Connection connection) : EventArgs
{
    public PeerId Peer { get; } = peer;

    public Connection Connection { get; } = connection;
}
