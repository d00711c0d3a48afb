namespace Vivim.Libp2p.Core;

/// <summary>The stream was reset (by either side) or its session closed before it finished.</summary>
public sealed class StreamResetException : Libp2pException
{
    public StreamResetException() { }
    public StreamResetException(string message) : base(message) { }
    public StreamResetException(string message, Exception inner) : base(message, inner) { }
}
