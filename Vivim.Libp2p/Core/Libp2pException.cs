namespace Vivim.Libp2p.Core;

/// <summary>Base type of every error raised by Vivim.Libp2p.</summary>
public class Libp2pException : Exception
{
    public Libp2pException() { }
    public Libp2pException(string message) : base(message) { }
    public Libp2pException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>Malformed bytes or text received from a peer (or given by a caller). Decoders throw only this.</summary>
public sealed class MalformedDataException : Libp2pException
{
    public MalformedDataException() { }
    public MalformedDataException(string message) : base(message) { }
    public MalformedDataException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A configured limit (size, count, rate) was exceeded.</summary>
public sealed class LimitExceededException : Libp2pException
{
    public LimitExceededException() { }
    public LimitExceededException(string message) : base(message) { }
    public LimitExceededException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>Protocol negotiation (multistream-select) failed: no common protocol or a broken exchange.</summary>
public sealed class NegotiationException : Libp2pException
{
    public NegotiationException() { }
    public NegotiationException(string message) : base(message) { }
    public NegotiationException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>The Noise handshake failed (bad message, bad signature, unexpected peer).</summary>
public sealed class NoiseHandshakeException : Libp2pException
{
    public NoiseHandshakeException() { }
    public NoiseHandshakeException(string message) : base(message) { }
    public NoiseHandshakeException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>The remote violated the Yamux protocol; the session is closed with GoAway(protocol error).</summary>
public sealed class YamuxProtocolException : Libp2pException
{
    public YamuxProtocolException() { }
    public YamuxProtocolException(string message) : base(message) { }
    public YamuxProtocolException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>The stream was reset (by either side) or its session closed before it finished.</summary>
public sealed class StreamResetException : Libp2pException
{
    public StreamResetException() { }
    public StreamResetException(string message) : base(message) { }
    public StreamResetException(string message, Exception inner) : base(message, inner) { }
}
