using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;
using Vivim.Anchors;
using Vivim.Protocol;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Gateway.Api;

/// <summary>Request bodies read with limits and the protocol's JSON rules; responses in the SDK's JSON.</summary>
public static class ApiJson
{
    public const string ContentType = "application/json";
    private const string BodyKey = "vivim.body";

    /// <summary>The raw request target exactly as sent (signatures cover it undecoded).</summary>
    public static string RawTarget(HttpContext context) =>
        context.Features.Get<IHttpRequestFeature>()?.RawTarget is { Length: > 0 } raw ? raw : context.Request.Path + context.Request.QueryString;

    public static bool HasBody(HttpRequest request) => request.ContentLength > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);

    /// <summary>The body's bytes (read once per request, at most <paramref name="maxBytes"/>; more is a 413).</summary>
    public static async Task<byte[]> ReadBodyAsync(HttpContext context, int maxBytes)
    {
        if (context.Items.TryGetValue(BodyKey, out var cached) && cached is byte[] bytes)
        {
            return bytes;
        }

        var request = context.Request;
        if (request.ContentLength > maxBytes)
        {
            throw TooLarge(maxBytes);
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw TooLarge(maxBytes);
            }

            buffer.Write(chunk, 0, read);
        }

        bytes = buffer.ToArray();
        context.Items[BodyKey] = bytes;
        return bytes;
    }

    /// <summary>The body as a JSON object (content type application/json, strict parsing).</summary>
    public static async Task<JsonObject> ReadObjectAsync(HttpContext context, int maxBytes)
    {
        RequireJson(context);
        var bytes = await ReadBodyAsync(context, maxBytes);
        try
        {
            return ProtocolJson.ParseObject(bytes, new JsonLimits(maxBytes, JsonLimits.Default.MaxDepth));
        }
        catch (ProtocolException e)
        {
            throw new ApiException(StatusCodes.Status400BadRequest, e.Code, e.Message);
        }
    }

    /// <summary>Refuses a body not sent as application/json (415).</summary>
    public static void RequireJson(HttpContext context)
    {
        var contentType = context.Request.ContentType;
        if (contentType is null || !contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase))
        {
            throw new ApiException(StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "Send the body as application/json.");
        }
    }

    /// <summary>An optional JSON object body: an empty body is an empty object.</summary>
    public static async Task<JsonObject> ReadOptionalObjectAsync(HttpContext context, int maxBytes) =>
        HasBody(context.Request) ? await ReadObjectAsync(context, maxBytes) : [];

    /// <summary>A body member as a protocol record, refusing wrong types and unknown members.</summary>
    public static T Read<T>(JsonObject json)
        where T : class
    {
        try
        {
            return ProtocolModel.FromJsonObject<T>(json);
        }
        catch (ProtocolException e)
        {
            throw new ApiException(StatusCodes.Status400BadRequest, e.Code, e.Message);
        }
    }

    /// <summary>A record read straight from text that <see cref="ProtocolJson"/> has already accepted, refusing as <see cref="Read{T}"/> does.</summary>
    public static T ReadChecked<T>(ReadOnlySpan<byte> utf8)
        where T : class
    {
        try
        {
            return ProtocolModel.FromCheckedUtf8<T>(utf8);
        }
        catch (ProtocolException e)
        {
            throw new ApiException(StatusCodes.Status400BadRequest, e.Code, e.Message);
        }
    }

    public static IResult Protocol<T>(T value, int status = StatusCodes.Status200OK)
        where T : class => Results.Text(ProtocolModel.ToJson(value), ContentType, statusCode: status);

    public static IResult Object(JsonObject value, int status = StatusCodes.Status200OK) =>
        Results.Text(JavaScriptJson.Stringify(value, JsonLimits.Snapshot), ContentType, statusCode: status);

    /// <summary>A submitted batch's answer: its receipts when committed, else the rejections as a problem.</summary>
    public static IResult Receipts(SubmitResult result) => result.Outcome == SubmitOutcome.Committed
        ? Results.Json(WireJson.Receipts(result.Receipts))
        : ApiProblem.Rejected(result);

    public static JsonNode ToNode<T>(T value)
        where T : class => ProtocolModel.ToJsonObject(value);

    public static long? Long(JsonObject json, string name, bool required)
    {
        var node = json[name];
        if (node is null)
        {
            return required ? throw Bad($"'{name}' is required.") : null;
        }

        if (node is not JsonValue value || !value.TryGetValue<double>(out var number) || number != Math.Floor(number) || Math.Abs(number) > 9007199254740991)
        {
            throw Bad($"'{name}' must be an integer.");
        }

        return (long)number;
    }

    public static string? String(JsonObject json, string name, int maxLength, bool required)
    {
        var node = json[name];
        if (node is null)
        {
            return required ? throw Bad($"'{name}' is required.") : null;
        }

        if (node is not JsonValue value || !value.TryGetValue<string>(out var text))
        {
            throw Bad($"'{name}' must be a string.");
        }

        return text.Length <= maxLength ? text : throw Bad($"'{name}' is longer than {maxLength} characters.");
    }

    /// <summary>Refuses members other than <paramref name="allowed"/>.</summary>
    public static void OnlyMembers(JsonObject json, params string[] allowed)
    {
        foreach (var (name, _) in json)
        {
            if (!allowed.Contains(name, StringComparer.Ordinal))
            {
                throw Bad($"Unknown member '{name}'.");
            }
        }
    }

    public static ApiException Bad(string detail) => new(StatusCodes.Status400BadRequest, "invalid-request", detail);

    private static ApiException TooLarge(int maxBytes) =>
        new(StatusCodes.Status413PayloadTooLarge, "too-large", $"The body is larger than {maxBytes} bytes.");
}
