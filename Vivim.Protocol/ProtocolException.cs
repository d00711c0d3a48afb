namespace Vivim.Protocol;

/// <summary>
/// Base of every typed error raised for bad protocol input. <see cref="Code"/> is stable and machine-readable
/// (it becomes the <c>code</c> of an HTTP problem or a protocol error); the message is for people.
/// </summary>
public abstract class ProtocolException : Exception
{
    protected ProtocolException(string code, string message)
        : base(message) => Code = code;

    protected ProtocolException(string code, string message, Exception? inner)
        : base(message, inner) => Code = code;

    public string Code { get; }
}
