namespace Vivim.Libp2p.Core;

/// <summary>The Noise handshake failed (bad message, bad signature, unexpected peer).</summary>
public sealed class NoiseHandshakeException : Libp2pException
{
    public NoiseHandshakeException() { }
    public NoiseHandshakeException(string message) : base(message) { }
    public NoiseHandshakeException(string message, Exception inner) : base(message, inner) { }
}
