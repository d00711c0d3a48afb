namespace Vivim.Gateway.Api.OpenApi;

/// <summary>
/// The API's contract, <c>openapi-v1.json</c> beside this file, served as written at <c>/openapi/v1.json</c>. It is
/// checked in rather than generated because the wire shapes are the SDK's JSON (written by the protocol model, not
/// by ASP.NET's serializer), which no generator sees. Tests hold it to the mapped endpoints and every response the
/// test suite receives; docs/api.md is its prose.
/// </summary>
public static class OpenApiDocument
{
    public const string Route = "/openapi/v1.json";

    private const string ResourceName = "Vivim.Gateway.openapi-v1.json";

    private static readonly Lazy<byte[]> Utf8 = new(() =>
    {
        using var stream = typeof(OpenApiDocument).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The embedded resource {ResourceName} is missing from the gateway's assembly.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    /// <summary>The document's UTF-8 JSON.</summary>
    public static ReadOnlyMemory<byte> Json => Utf8.Value;

    public static void MapOpenApiDocument(this IEndpointRouteBuilder app) =>
        app.MapGet(Route, () => Results.Bytes(Utf8.Value, ApiJson.ContentType))
            .WithName("getOpenApiDocument");
}
