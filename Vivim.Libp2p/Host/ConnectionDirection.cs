namespace Vivim.Libp2p.Host;

public enum ConnectionDirection
{
    Inbound,
    Outbound,
}
