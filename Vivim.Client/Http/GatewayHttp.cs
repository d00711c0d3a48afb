using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Vivim.Protocol;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Client.Http;

/// <summary>What every gateway call shares: bounded reads, strict JSON, problem+json errors.</summary>
internal static class GatewayHttp
{
    /// <summary>Largest response body read for ordinary calls.</summary>
    public const int MaxResponseBytes = 16 * 1024 * 1024;

    /// <summary>Largest snapshot or registration response (a whole state).</summary>
    public const int MaxSnapshotBytes = 256 * 1024 * 1024;

    public static readonly MediaTypeHeaderValue Json = new("application/json");

    public static ByteArrayContent JsonContent(JsonNode body)
    {
        var content = new ByteArrayContent(JavaScriptJson.StringifyToUtf8(body));
        content.Headers.ContentType = Json;
        return content;
    }

    public static ByteArrayContent JsonContent(string json)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
        content.Headers.ContentType = Json;
        return content;
    }

    /// <summary>Reads at most <paramref name="maxBytes"/>; a longer (or longer announced) body is refused before it is buffered.</summary>
    public static async Task<byte[]> ReadBodyAsync(HttpResponseMessage response, int maxBytes, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength is { } announced && announced > maxBytes)
        {
            throw new GatewayException(response.StatusCode, "response-too-large", $"The gateway's answer is {announced} bytes; the limit is {maxBytes}.");
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw new GatewayException(response.StatusCode, "response-too-large", $"The gateway's answer exceeds {maxBytes} bytes.");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    public static async Task<JsonObject> ReadObjectAsync(HttpResponseMessage response, int maxBytes, CancellationToken cancellationToken)
    {
        var body = await ReadBodyAsync(response, maxBytes, cancellationToken).ConfigureAwait(false);
        try
        {
            return ProtocolJson.ParseObject(body, new JsonLimits(Math.Max(maxBytes, 1), JsonLimits.Default.MaxDepth));
        }
        catch (ProtocolException e)
        {
            throw new GatewayException(response.StatusCode, "invalid-response", $"The gateway's answer is not valid JSON: {e.Message}", e);
        }
    }

    public static T Model<T>(JsonObject json, HttpStatusCode status)
        where T : class
    {
        try
        {
            // An update keeps the JSON it came in, which its update hash is computed from (no record → JSON round trip).
            return typeof(T) == typeof(StateUpdate) ? (T)(object)ReceivedUpdates.FromJsonObject(json) : ProtocolModel.FromJsonObject<T>(json);
        }
        catch (ProtocolException e)
        {
            throw new GatewayException(status, "invalid-response", $"The gateway's answer is not a valid {typeof(T).Name}: {e.Message}", e);
        }
    }

    /// <summary>An error answer as an exception: the problem's <c>code</c> and <c>detail</c> (or <c>title</c>) when it has them.</summary>
    public static async Task<GatewayException> ProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        string? code = null;
        string? detail = null;
        try
        {
            var body = await ReadBodyAsync(response, 64 * 1024, cancellationToken).ConfigureAwait(false);
            if (body.Length > 0 && ProtocolJson.Parse(body) is JsonObject problem)
            {
                code = Text(problem, "code");
                detail = Text(problem, "detail") ?? Text(problem, "title") ?? Text(problem, "denialReason");
            }
        }
        catch (Exception e) when (e is ProtocolException or GatewayException or HttpRequestException or IOException)
        {
            // The status alone still says what happened.
        }

        code ??= DefaultCode(response.StatusCode);
        var message = $"{(int)response.StatusCode} {code}" + (detail is null ? string.Empty : $": {detail}");
        return new GatewayException(response.StatusCode, code, message) { RetryAfter = RetryAfter(response) };
    }

    public static TimeSpan? RetryAfter(HttpResponseMessage response) =>
        response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - DateTimeOffset.UtcNow,
            _ => null,
        };

    public static string? Text(JsonObject json, string member) =>
        json[member] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    public static long Integer(JsonObject json, string member, HttpStatusCode status) =>
        json[member] is JsonValue value && value.GetValueKind() == System.Text.Json.JsonValueKind.Number && JavaScriptJson.ToDouble(value) is var number && number == Math.Floor(number) && Math.Abs(number) <= 9007199254740991
            ? (long)number
            : throw new GatewayException(status, "invalid-response", $"The gateway's answer has no integer \"{member}\".");

    public static IReadOnlyList<T> List<T>(JsonObject json, string member, HttpStatusCode status)
        where T : class =>
        json[member] is JsonArray items
            ? [.. items.Select(i => Model<T>(i as JsonObject ?? throw new GatewayException(status, "invalid-response", $"\"{member}\" holds a non-object."), status))]
            : throw new GatewayException(status, "invalid-response", $"The gateway's answer has no array \"{member}\".");

    private static string DefaultCode(HttpStatusCode status) => status switch
    {
        HttpStatusCode.BadRequest => "bad-request",
        HttpStatusCode.Unauthorized => "unauthorized",
        HttpStatusCode.Forbidden => "forbidden",
        HttpStatusCode.NotFound => "not-found",
        HttpStatusCode.Conflict => "conflict",
        HttpStatusCode.Gone => "gone",
        HttpStatusCode.TooManyRequests => "rate-limited",
        _ => "http-" + ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
