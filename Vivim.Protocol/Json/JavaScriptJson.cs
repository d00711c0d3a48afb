using System.Globalization;
using System.Text.Json.Nodes;

namespace Vivim.Protocol.Json;

/// <summary>
/// Byte-for-byte reproduction of JavaScript's <c>JSON.stringify</c> for JSON-shaped values: integer-like keys first in
/// ascending order then insertion order, no whitespace, ECMAScript string escaping (lone surrogates as <c>\uXXXX</c>)
/// and number formatting. The SDK's v1 rules hash this text.
/// </summary>
public static class JavaScriptJson
{
    /// <summary><c>JSON.stringify(value)</c> as a string.</summary>
    public static string Stringify(JsonNode? value, JsonLimits? limits = null) =>
        JsonTextWriter.ToStringAndRelease(JsonTextWriter.JavaScript(value, limits ?? JsonLimits.Default));

    /// <summary>
    /// <c>JSON.stringify(value)</c> where the top-level member <paramref name="member"/> is given as its own
    /// <c>JSON.stringify</c> text (a document already written out once), which is copied in as it is.
    /// </summary>
    public static string Stringify(JsonObject value, string member, string memberText, JsonLimits? limits = null) =>
        JsonTextWriter.ToStringAndRelease(JsonTextWriter.JavaScript(value, limits ?? JsonLimits.Default, member, memberText));

    /// <summary><c>JSON.stringify(value, null, indent)</c>: the indented form, for files people read.</summary>
    public static string Stringify(JsonNode? value, int indent, JsonLimits? limits = null) =>
        JsonTextWriter.ToStringAndRelease(JsonTextWriter.JavaScript(value, limits ?? JsonLimits.Default, indent: indent));

    /// <summary><c>JSON.stringify(value)</c> encoded as UTF-8 (lone surrogates are escaped, so this never loses data).</summary>
    public static byte[] StringifyToUtf8(JsonNode? value, JsonLimits? limits = null) =>
        JsonTextWriter.ToArrayAndRelease(JsonTextWriter.JavaScript(value, limits ?? JsonLimits.Default));

    /// <summary><c>JSON.stringify(value, replacerKeys)</c>: an array replacer lists, in order, the only keys written at any depth.</summary>
    public static byte[] StringifyToUtf8(JsonNode? value, IReadOnlyList<string> replacerKeys, JsonLimits? limits = null) =>
        JsonTextWriter.ToArrayAndRelease(JsonTextWriter.JavaScript(value, limits ?? JsonLimits.Default, replacerKeys));

    /// <summary>
    /// True when <paramref name="key"/> is an ECMAScript array index (canonical decimal of 0 … 2^32 − 2), the keys
    /// that JavaScript objects enumerate before all others.
    /// </summary>
    public static bool TryParseArrayIndex(string key, out uint index)
    {
        index = 0;
        if (key.Length is 0 or > 10 || (key.Length > 1 && key[0] == '0'))
        {
            return false;
        }

        ulong value = 0;
        foreach (var c in key)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }

            value = (value * 10) + (ulong)(c - '0');
        }

        if (value > uint.MaxValue - 1)
        {
            return false;
        }

        index = (uint)value;
        return true;
    }

    /// <summary>The IEEE-754 double a JSON number node stands for, whatever CLR type backs it.</summary>
    public static double ToDouble(JsonValue value)
    {
        if (value.TryGetValue<double>(out var d))
        {
            return d;
        }

        if (value.TryGetValue<long>(out var l))
        {
            return l;
        }

        if (value.TryGetValue<int>(out var i))
        {
            return i;
        }

        if (value.TryGetValue<ulong>(out var ul))
        {
            return ul;
        }

        if (value.TryGetValue<uint>(out var ui))
        {
            return ui;
        }

        if (value.TryGetValue<decimal>(out var m))
        {
            return (double)m;
        }

        if (value.TryGetValue<float>(out var f))
        {
            return f;
        }

        if (value.TryGetValue<short>(out var s))
        {
            return s;
        }

        if (value.TryGetValue<byte>(out var b))
        {
            return b;
        }

        return double.Parse(value.ToJsonString(), CultureInfo.InvariantCulture);
    }
}
