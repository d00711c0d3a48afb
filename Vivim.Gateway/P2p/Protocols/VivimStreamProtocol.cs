using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Vivim.Gateway.Api;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Protocol.Json;
using Vivim.Telemetry;

namespace Vivim.Gateway.P2p.Protocols;

/// <summary>
/// One request, one answer per stream, each a UTF-8 JSON text behind its uvarint byte length (it-length-prefixed).
/// Broken framing (a length over the limit, a bad or truncated varint, silence past the timeout) resets the stream;
/// anything wrong with the request itself is answered <c>{"error":{code, message}}</c> with the HTTP API's code, and
/// the stream is closed. Every request counts against the remote peer's rate limit.
/// </summary>
public abstract partial class VivimStreamProtocol(VivimProtocolContext context, ILogger logger) : IP2pProtocol
{
    public abstract string ProtocolId { get; }

    protected VivimProtocolContext Context => context;

    /// <summary>The answer's UTF-8 JSON for a request (an object); throws what <see cref="ApiError.From"/> maps.</summary>
    protected abstract Task<byte[]> AnswerAsync(JsonObject request, Libp2pStream stream, CancellationToken cancellationToken);

    public async Task HandleAsync(Libp2pStream stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        VivimMetrics.P2pStream(ProtocolId);

        // A trace per stream: the request's grain calls are its children (libp2p carries no trace context).
        using var span = VivimTracing.Source.StartActivity(ActivityKind.Server, parentContext: default, name: ProtocolId);
        span?.SetTag("network.protocol.name", "libp2p");
        var limits = context.Options.Value;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(limits.RequestTimeout);

        byte[]? message;
        try
        {
            message = await Varint.ReadLengthPrefixedAsync(stream, limits.MaxRequestBytes, deadline.Token);
        }
        catch (Exception e) when (e is Libp2pException or IOException or OperationCanceledException)
        {
            LogFramingBroken(logger, ProtocolId, stream.RemotePeer.ToString(), e.Message);
            stream.Reset();
            return;
        }

        if (message is null)
        {
            stream.Reset(); // the dialer closed without a request
            return;
        }

        try
        {
            await AnswerAsync(message, stream, limits, deadline.Token, cancellationToken);
        }
        finally
        {
            OnAnswered(stream);
        }
    }

    /// <summary>Called once the answer is written or the stream reset, whatever happened.</summary>
    protected virtual void OnAnswered(Libp2pStream stream)
    {
    }

    private async Task AnswerAsync(byte[] message, Libp2pStream stream, VivimProtocolOptions limits, CancellationToken deadline, CancellationToken cancellationToken)
    {
        var answer = await AnswerOrErrorAsync(message, stream, cancellationToken);
        if (answer is null)
        {
            stream.Reset(); // disconnected for flooding
            return;
        }

        if (answer.Length > limits.MaxAnswerBytes)
        {
            answer = Error(new ApiError(413, "too-large", $"The answer is larger than {limits.MaxAnswerBytes} bytes; ask for less (a smaller limit)."));
        }

        try
        {
            await Varint.WriteLengthPrefixedAsync(stream, answer, deadline);
            await stream.CloseWriteAsync();
        }
        catch (Exception e) when (e is Libp2pException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            LogFramingBroken(logger, ProtocolId, stream.RemotePeer.ToString(), e.Message);
            stream.Reset();
        }
    }

    private async Task<byte[]?> AnswerOrErrorAsync(byte[] message, Libp2pStream stream, CancellationToken cancellationToken)
    {
        try
        {
            context.Limiter.ForPeer(stream.RemotePeer.ToString());
            var request = ProtocolJson.ParseObject(message, new JsonLimits(context.Options.Value.MaxRequestBytes, JsonLimits.Default.MaxDepth));
            return await AnswerAsync(request, stream, cancellationToken);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var error = ApiError.From(e);
            if (error is null)
            {
                LogUnexpected(logger, e, ProtocolId, stream.RemotePeer.ToString());
                error = new ApiError(500, "internal-error", "The request failed inside the service; it has been logged.");
            }
            else if (error.Code == "rate-limited" && await context.FloodGuard.RefusedAsync(stream.Connection))
            {
                LogDisconnected(logger, stream.RemotePeer.ToString(), ProtocolId);
                return null;
            }

            return Error(error);
        }
    }

    protected static byte[] Error(ApiError error) => Encoding.UTF8.GetBytes(ErrorText(error));

    /// <summary><c>{"error":{code, message, retryAfterMs?}}</c> with the error's extensions (a batch's <c>rejections</c>) beside it.</summary>
    public static string ErrorText(ApiError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var body = new JsonObject { ["code"] = error.Code, ["message"] = error.Message };
        if (error.RetryAfter is { } wait)
        {
            body["retryAfterMs"] = Math.Max(1, (long)Math.Ceiling(wait.TotalMilliseconds));
        }

        var answer = new JsonObject { ["error"] = body };
        foreach (var (name, value) in error.Extensions ?? new Dictionary<string, JsonNode?>())
        {
            answer[name] = value?.DeepClone();
        }

        return JavaScriptJson.Stringify(answer);
    }

    /// <summary>A record in the SDK's JSON, as the HTTP routes answer it.</summary>
    protected static byte[] Protocol<T>(T value)
        where T : class => Encoding.UTF8.GetBytes(Vivim.Protocol.Model.ProtocolModel.ToJson(value));

    protected static byte[] Object(JsonObject value) => JavaScriptJson.StringifyToUtf8(value, JsonLimits.Snapshot);

    /// <summary>The request's <c>type</c>, which must be one of <paramref name="types"/>.</summary>
    protected static string RequestType(JsonObject request, params string[] types)
    {
        var type = ApiJson.String(request, "type", 32, required: true)!;
        return types.Contains(type, StringComparer.Ordinal) ? type : throw ApiJson.Bad($"Unknown type '{type}'; expected one of {string.Join(", ", types)}.");
    }

    /// <summary>The request without its routing members, so the shared calls see the same body as over HTTP.</summary>
    protected static JsonObject Body(JsonObject request, params string[] routing)
    {
        foreach (var name in routing)
        {
            request.Remove(name);
        }

        return request;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Protocol} stream from {Peer} reset: {Reason}")]
    private static partial void LogFramingBroken(ILogger logger, string protocol, string peer, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Protocol} request from {Peer} failed")]
    private static partial void LogUnexpected(ILogger logger, Exception exception, string protocol, string peer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Disconnected {Peer}: it kept sending {Protocol} requests while rate limited")]
    private static partial void LogDisconnected(ILogger logger, string peer, string protocol);
}
