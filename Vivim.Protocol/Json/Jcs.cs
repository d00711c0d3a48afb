using System.Text.Json.Nodes;

namespace Vivim.Protocol.Json;

/// <summary>
/// RFC 8785 JSON Canonicalization Scheme: no whitespace, object keys sorted by UTF-16 code units, strings escaped as
/// ECMAScript does, numbers in ECMAScript form. Refuses lone surrogates and non-finite numbers.
/// </summary>
public static class Jcs
{
    public static byte[] Canonicalize(JsonNode? value, JsonLimits? limits = null) =>
        JsonTextWriter.ToArrayAndRelease(JsonTextWriter.Canonical(value, limits ?? JsonLimits.Default));

    public static string CanonicalizeToString(JsonNode? value, JsonLimits? limits = null) =>
        JsonTextWriter.ToStringAndRelease(JsonTextWriter.Canonical(value, limits ?? JsonLimits.Default));

    /// <summary>Writes <paramref name="prefix"/> then the canonical form into one buffer, as the v2 signing input needs.</summary>
    internal static byte[] CanonicalizeWithPrefix(ReadOnlySpan<byte> prefix, JsonObject value, IReadOnlyCollection<string> excludedTopLevelKeys, JsonLimits limits)
    {
        var output = JsonTextWriter.Canonical(value, limits, excludedTopLevelKeys: excludedTopLevelKeys);
        var body = output.WrittenSpan;
        var result = new byte[prefix.Length + body.Length];
        prefix.CopyTo(result);
        body.CopyTo(result.AsSpan(prefix.Length));
        JsonTextWriter.Release(output);
        return result;
    }

    /// <summary>As above, and where the value of the top-level member <paramref name="capturedKey"/> lies in the result (its own canonical form).</summary>
    internal static byte[] CanonicalizeWithPrefix(ReadOnlySpan<byte> prefix, JsonObject value, IReadOnlyCollection<string> excludedTopLevelKeys, JsonLimits limits, string capturedKey, out Range captured)
    {
        var output = JsonTextWriter.Canonical(value, limits, excludedTopLevelKeys, capturedKey, out var range);
        var body = output.WrittenSpan;
        var result = new byte[prefix.Length + body.Length];
        prefix.CopyTo(result);
        body.CopyTo(result.AsSpan(prefix.Length));
        JsonTextWriter.Release(output);
        var (offset, length) = range.GetOffsetAndLength(body.Length);
        captured = length == 0 ? default : (prefix.Length + offset)..(prefix.Length + offset + length);
        return result;
    }
}
