namespace Vivim.Libp2p.Protocols.Kad;

public enum KadConnectionType
{
    NotConnected = 0,
    Connected = 1,
    CanConnect = 2,
    CannotConnect = 3,
}
