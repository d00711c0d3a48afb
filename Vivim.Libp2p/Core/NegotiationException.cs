namespace Vivim.Libp2p.Core;

/// <summary>Protocol negotiation (multistream-select) failed: no common protocol or a broken exchange.</summary>
public sealed class NegotiationException : Libp2pException
{
    public NegotiationException() { }
    public NegotiationException(string message) : base(message) { }
    public NegotiationException(string message, Exception inner) : base(message, inner) { }
}
