namespace Vivim.Libp2p.Core;

/// <summary>The remote violated the Yamux protocol; the session is closed with GoAway(protocol error).</summary>
public sealed class YamuxProtocolException : Libp2pException
{
    public YamuxProtocolException() { }
    public YamuxProtocolException(string message) : base(message) { }
    public YamuxProtocolException(string message, Exception inner) : base(message, inner) { }
}
