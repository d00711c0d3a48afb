using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Vivim.Client.Http;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Protocol.Json;

namespace Vivim.Client.P2p;

/// <summary>
/// One request and one answer per stream on the <c>/vivim/*</c> protocols: a UTF-8 JSON text behind its uvarint length
/// each way, the request at most 1 MiB, the answer at most <see cref="MaxAnswerBytes"/>. An error answer
/// <c>{"error":{code, message}}</c> becomes a <see cref="GatewayException"/> with the HTTP status the code stands for.
/// </summary>
public static class VivimStreamClient
{
    public const int MaxRequestBytes = 1024 * 1024;
    public const int MaxAnswerBytes = 4 * 1024 * 1024;

    /// <summary>Sends <paramref name="request"/> and returns the answer's object.</summary>
    /// <exception cref="GatewayException">The answer was an error.</exception>
    public static async Task<JsonObject> RequestAsync(Libp2pHost host, Multiaddr peer, string protocol, byte[] request, CancellationToken cancellationToken)
    {
        var answer = await ExchangeAsync(host, peer, protocol, request, cancellationToken).ConfigureAwait(false);
        return answer["error"] is JsonObject error ? throw ErrorOf(error) : answer;
    }

    public static Task<JsonObject> RequestAsync(Libp2pHost host, Multiaddr peer, string protocol, JsonObject request, CancellationToken cancellationToken) =>
        RequestAsync(host, peer, protocol, Encoding.UTF8.GetBytes(JavaScriptJson.Stringify(request)), cancellationToken);

    /// <summary>Sends <paramref name="request"/> (UTF-8 JSON) and returns the answer as it came, an error answer included.</summary>
    /// <exception cref="GatewayUnreachableException">No stream could be opened to the peer (nothing was sent).</exception>
    /// <exception cref="GatewayException">The stream was reset or closed without an answer.</exception>
    public static async Task<JsonObject> ExchangeAsync(Libp2pHost host, Multiaddr peer, string protocol, byte[] request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(request);
        if (request.Length > MaxRequestBytes)
        {
            throw new ArgumentException($"A /vivim/* request is at most {MaxRequestBytes} bytes.", nameof(request));
        }

        await using var stream = await OpenAsync(host, peer, protocol, cancellationToken).ConfigureAwait(false);
        byte[]? answer;
        try
        {
            await Varint.WriteLengthPrefixedAsync(stream, request, cancellationToken).ConfigureAwait(false);
            await stream.CloseWriteAsync().ConfigureAwait(false);
            answer = await Varint.ReadLengthPrefixedAsync(stream, MaxAnswerBytes, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is Libp2pException or IOException)
        {
            throw new GatewayException(HttpStatusCode.BadGateway, "stream-reset", $"The gateway reset the {protocol} stream: {e.Message}", e);
        }

        if (answer is null)
        {
            throw new GatewayException(HttpStatusCode.BadGateway, "stream-reset", $"The gateway closed the {protocol} stream without an answer.");
        }

        return ProtocolJson.ParseObject(answer, new JsonLimits(MaxAnswerBytes, JsonLimits.Default.MaxDepth));
    }

    private static async Task<Libp2pStream> OpenAsync(Libp2pHost host, Multiaddr peer, string protocol, CancellationToken cancellationToken)
    {
        try
        {
            var connection = await host.DialAsync(peer, cancellationToken).ConfigureAwait(false);
            return await connection.NewStreamAsync([protocol], cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or TimeoutException
            || (e is Libp2pException && e is not NegotiationException and not LimitExceededException)
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new GatewayUnreachableException(peer, e);
        }
    }

    /// <summary>The exception an error answer's <c>error</c> member stands for.</summary>
    public static GatewayException ErrorOf(JsonObject error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var code = error["code"] is JsonValue c && c.TryGetValue<string>(out var text) ? text : "error";
        var message = error["message"] is JsonValue m && m.TryGetValue<string>(out var said) ? said : code;
        TimeSpan? retryAfter = error["retryAfterMs"] is JsonValue r && r.TryGetValue<long>(out var ms) ? TimeSpan.FromMilliseconds(ms) : null;
        return new GatewayException(StatusOf(code), code, message) { RetryAfter = retryAfter };
    }

    /// <summary>The HTTP status the gateway gives the same condition (API.md: the codes are the HTTP API's).</summary>
    public static HttpStatusCode StatusOf(string code) => code switch
    {
        "json-malformed" or "invalid-request" or "batch-rejected" => HttpStatusCode.BadRequest,
        "unauthorized" => HttpStatusCode.Unauthorized,
        "clone-revoked" or "write-forbidden" or "quota-exceeded" or "forbidden" => HttpStatusCode.Forbidden,
        "not-found" => HttpStatusCode.NotFound,
        "conflict" => HttpStatusCode.Conflict,
        "resync-required" => HttpStatusCode.Gone,
        "too-large" => HttpStatusCode.RequestEntityTooLarge,
        "rate-limited" => HttpStatusCode.TooManyRequests,
        "unavailable" => HttpStatusCode.ServiceUnavailable,
        _ => HttpStatusCode.InternalServerError,
    };
}

