using System.Collections.Frozen;

namespace Vivim.Gateway.TenantConsole;

/// <summary>
/// The tenant console at <c>/console</c>: static files embedded in this assembly (no build step, nothing to deploy
/// beside the gateway). It signs in with an API key it keeps in session storage and calls the public API with it as a
/// bearer header, so no cookie exists to forge requests with; the CSP admits only these files' own scripts and styles.
/// </summary>
public static class ConsoleEndpoints
{
    public const string Route = "/console";

    /// <summary>No inline script or style, nothing from elsewhere, never framed.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private const string Prefix = "Vivim.Gateway.console.";

    private static readonly FrozenDictionary<string, string> Types = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [".html"] = "text/html; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
    }.ToFrozenDictionary();

    private static readonly Lazy<FrozenDictionary<string, byte[]>> Files = new(() =>
    {
        var assembly = typeof(ConsoleEndpoints).Assembly;
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            files[name[Prefix.Length..]] = copy.ToArray();
        }

        return files.ToFrozenDictionary(StringComparer.Ordinal);
    });

    /// <summary>The embedded file names (for tests).</summary>
    public static IEnumerable<string> FileNames => Files.Value.Keys;

    public static void MapConsole(this IEndpointRouteBuilder app)
    {
        app.MapGet(Route, (HttpContext context) => Serve(context, "index.html")).ExcludeFromDescription();
        app.MapGet(Route + "/{file}", (HttpContext context, string file) => Serve(context, file)).ExcludeFromDescription();
    }

    private static IResult Serve(HttpContext context, string file)
    {
        if (!Files.Value.TryGetValue(file, out var content) || !Types.TryGetValue(Path.GetExtension(file), out var type))
        {
            return Api.ApiProblem.NotFound($"No console file {file}.");
        }

        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.XFrameOptions = "DENY";
        headers.CacheControl = "no-cache";
        return Results.Bytes(content, type);
    }
}
