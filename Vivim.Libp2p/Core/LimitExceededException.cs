namespace Vivim.Libp2p.Core;

/// <summary>A configured limit (size, count, rate) was exceeded.</summary>
public sealed class LimitExceededException : Libp2pException
{
    public LimitExceededException() { }
    public LimitExceededException(string message) : base(message) { }
    public LimitExceededException(string message, Exception inner) : base(message, inner) { }
}
