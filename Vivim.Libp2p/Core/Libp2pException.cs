namespace Vivim.Libp2p.Core;

/// <summary>Base type of every error raised by Vivim.Libp2p.</summary>
public class Libp2pException : Exception
{
    public Libp2pException() { }
    public Libp2pException(string message) : base(message) { }
    public Libp2pException(string message, Exception inner) : base(message, inner) { }
}
