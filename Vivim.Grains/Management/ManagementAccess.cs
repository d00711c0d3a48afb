using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using Vivim.Security;

namespace Vivim.Management;

/// <summary>
/// Who may use the management port: a request that presents the operator key, as <c>Authorization: Bearer &lt;key&gt;</c>
/// (Prometheus, <c>vivim status</c>) or as the password of HTTP Basic authentication (a browser's own sign-in prompt,
/// any user name). The key never goes into a URL, so no access log or proxy keeps it; the browser keeps it only for the
/// management origin. Answers 401 with a Basic challenge otherwise.
/// </summary>
public sealed class ManagementAccess(OperatorKey key)
{
    public const string Realm = "Vivim management";

    private const int MaxHeaderLength = 2048;

    public bool IsAuthorized(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var header = request.Headers.Authorization.ToString();
        if (header.Length is 0 or > MaxHeaderLength)
        {
            return false;
        }

        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return key.Matches(header[7..].Trim());
        }

        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            var encoded = header[6..].Trim();
            var bytes = new byte[encoded.Length];
            if (!Convert.TryFromBase64String(encoded, bytes, out var length))
            {
                return false;
            }

            var credentials = Encoding.UTF8.GetString(bytes, 0, length);
            var colon = credentials.IndexOf(':', StringComparison.Ordinal);
            return colon >= 0 && key.Matches(credentials[(colon + 1)..]);
        }

        return false;
    }

    /// <summary>401 with a challenge a browser answers with its sign-in prompt; nothing about the key.</summary>
    public static Task ChallengeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.Append(HeaderNames.WWWAuthenticate, $"Basic realm=\"{Realm}\", charset=\"UTF-8\"");
        context.Response.Headers.Append(HeaderNames.WWWAuthenticate, $"Bearer realm=\"{Realm}\"");
        context.Response.Headers.CacheControl = "no-store";
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync("The management port needs the operator key: Authorization: Bearer <key>, or Basic with the key as the password.\n");
    }
}
