using System.Text.RegularExpressions;

namespace Vivim.Hosting;

/// <summary>
/// Query parameters that carry secrets (the sync channel's <c>?ticket=</c>, and the names other clients commonly put
/// credentials under), found in any text and replaced by <see cref="Mask"/>: a logged request URL must not hand anyone
/// who reads the logs a ticket that is still valid.
/// </summary>
public static partial class QuerySecrets
{
    public const string Mask = "REDACTED";

    /// <summary>True when <paramref name="text"/> may hold a secret query value (a cheap test before the expression).</summary>
    public static bool MayHold(string? text) => text is not null && text.Contains('=', StringComparison.Ordinal) && Parameter().IsMatch(text);

    /// <summary><paramref name="text"/> with every secret query value masked.</summary>
    public static string Redact(string text) => MayHold(text) ? Parameter().Replace(text, Mask) : text;

    // A value runs to the next separator of a query, fragment or quoted text; the name must start a query member.
    [GeneratedRegex("""(?<=(?:^|[?&;])(?:ticket|access_token|token|api_key|apikey|key|secret|password|signature|sig)=)[^&;#\s"'<>]+""", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Parameter();
}
