namespace Vivim.Gateway.Api;

/// <summary>
/// The document path of <c>GET /v1/exit-nodes/{did}/documents/{**path}</c>. ASP.NET Core decodes the request path
/// except <c>%2F</c>, so the catch-all's route value keeps <c>%2F</c> escaped (and cannot tell it from <c>%252F</c>).
/// The path is therefore read from the raw target, everything after the <c>documents</c> segment, percent-decoded
/// once: literal slashes and <c>%2F</c> (what generated clients send for a path parameter) name the same document.
/// </summary>
public static class DocumentPathRoute
{
    // "", "v1", "exit-nodes", {did}, "documents", then the path's own segments.
    private const int DocumentsSegment = 4;

    public static string Decode(HttpContext context, string routeValue)
    {
        var target = ApiJson.RawTarget(context);
        var query = target.IndexOf('?', StringComparison.Ordinal);
        var rawPath = query < 0 ? target : target[..query];
        var segments = rawPath.Split('/');
        if (rawPath.StartsWith('/')
            && segments.Length > DocumentsSegment + 1
            && Is(segments[1], "v1")
            && Is(segments[2], "exit-nodes")
            && Is(segments[DocumentsSegment], "documents"))
        {
            return Uri.UnescapeDataString(string.Join('/', segments[(DocumentsSegment + 1)..]));
        }

        // A target the server normalized (dot segments, absolute form): the route value with its slashes decoded.
        return routeValue.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
    }

    private static bool Is(string rawSegment, string literal) =>
        string.Equals(Uri.UnescapeDataString(rawSegment), literal, StringComparison.OrdinalIgnoreCase);
}
