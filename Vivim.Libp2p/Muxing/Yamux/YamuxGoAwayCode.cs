namespace Vivim.Libp2p.Muxing.Yamux;

public enum YamuxGoAwayCode : uint
{
    Normal = 0,
    ProtocolError = 1,
    InternalError = 2,
}
