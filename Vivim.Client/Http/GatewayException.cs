using System.Net;

namespace Vivim.Client.Http;

/// <summary>
/// The gateway refused a request: the HTTP status and the stable <see cref="Code"/> of its RFC 9457 problem
/// (<c>unauthorized</c>, <c>not-found</c>, …), with its detail as the message.
/// </summary>
public sealed class GatewayException(HttpStatusCode status, string code, string message, Exception? inner = null) : Exception(message, inner)
{
    public HttpStatusCode Status { get; } = status;

    public string Code { get; } = code;

    /// <summary>From a 429's <c>Retry-After</c>, when it had one.</summary>
    public TimeSpan? RetryAfter { get; init; }
}
