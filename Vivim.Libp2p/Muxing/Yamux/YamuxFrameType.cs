namespace Vivim.Libp2p.Muxing.Yamux;

public enum YamuxFrameType : byte
{
    Data = 0,
    WindowUpdate = 1,
    Ping = 2,
    GoAway = 3,
}
