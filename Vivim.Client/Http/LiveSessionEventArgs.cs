namespace Vivim.Client.Http;

/// <summary>What happens to a WebSocket live session: <c>connected</c>, <c>disconnected</c>, <c>reconnecting</c>, <c>resync</c>, <c>server-error</c>, <c>revoked</c>.</summary>
public sealed class LiveSessionEventArgs(string kind, string detail, long cursor, TimeSpan? delay = null) : EventArgs
{
    public const string Connected = "connected";
    public const string Disconnected = "disconnected";
    public const string Reconnecting = "reconnecting";
    public const string Resync = "resync";
    public const string ServerError = "server-error";
    public const string Revoked = "revoked";

    public string Kind { get; } = kind;

    public string Detail { get; } = detail;

    /// <summary>The clone's cursor when it happened (for <c>connected</c>: the cursor the hello resumed from).</summary>
    public long Cursor { get; } = cursor;

    /// <summary>For <c>reconnecting</c>: the wait before the next attempt.</summary>
    public TimeSpan? Delay { get; } = delay;

    public override string ToString() => Delay is { } d ? $"{Kind} in {d.TotalMilliseconds:0} ms: {Detail}" : $"{Kind}: {Detail}";
}
