using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Host;

public sealed class PeerIdentifiedEventArgs(Protocols.Identify.IdentifyInfo info, Connection connection) : EventArgs
{
    public Protocols.Identify.IdentifyInfo Info { get; } = info;

    public Connection Connection { get; } = connection;
}
