namespace Vivim.Libp2p.Core;

/// <summary>Malformed bytes or text received from a peer (or given by a caller). Decoders throw only this.</summary>
public sealed class MalformedDataException : Libp2pException
{
    public MalformedDataException() { }
    public MalformedDataException(string message) : base(message) { }
    public MalformedDataException(string message, Exception inner) : base(message, inner) { }
}
