namespace Vivim.Protocol;

/// <summary>Base of every error raised while parsing or checking protocol data.</summary>
public abstract class ProtocolException : Exception
{
    protected ProtocolException(string code, string message)
        : base(message)
    {
        Code = code;
    }

    protected ProtocolException(string code, string message, Exception? inner)
        : base(message, inner)
    {
        Code = code;
    }

    /// <summary>A stable, machine-readable error code.</summary>
    public string Code { get; }
}
