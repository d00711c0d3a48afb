using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Vivim.Protocol.Json;

namespace Vivim.Protocol.Model;

/// <summary>
/// Maps protocol records to and from the SDK's JSON. Reading is strict: unknown members, missing required members,
/// nulls in non-nullable members, wrong types and numeric enums are refused with a <see cref="ProtocolModelException"/>.
/// </summary>
public static partial class ProtocolModel
{
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    public static JsonObject ToJsonObject<T>(T value)
        where T : class =>
        JsonSerializer.SerializeToNode(value, Options) as JsonObject
        ?? throw new InvalidOperationException($"{typeof(T).Name} did not serialize to a JSON object.");

    /// <summary>The record as <c>JSON.stringify</c> would write it (declaration order is the SDK's field order).</summary>
    public static string ToJson<T>(T value)
        where T : class => JavaScriptJson.Stringify(ToJsonObject(value));

    public static T FromJsonObject<T>(JsonObject json)
        where T : class
    {
        try
        {
            return json.Deserialize<T>(Options) ?? throw NullRecord<T>();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw NotValid<T>(e);
        }
    }

    /// <summary>
    /// Reads a record straight from UTF-8 that <see cref="ProtocolJson"/> has already accepted (strict rules, limits):
    /// the same record as <see cref="FromJsonObject{T}"/> of that parse, without writing the object out again first.
    /// </summary>
    public static T FromCheckedUtf8<T>(ReadOnlySpan<byte> utf8)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(utf8, Options) ?? throw NullRecord<T>();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw NotValid<T>(e);
        }
    }

    private static ProtocolModelException NullRecord<T>() => new($"A {typeof(T).Name} cannot be null.");

    private static ProtocolModelException NotValid<T>(Exception e)
    {
        if (e is JsonException json)
        {
            var where = string.IsNullOrEmpty(json.Path) ? string.Empty : $" at {json.Path}";
            return new ProtocolModelException($"Not a valid {WireName(typeof(T))}{where}: {Reason(e.Message)}", e);
        }

        return new ProtocolModelException($"Not a valid {WireName(typeof(T))}: {Reason(e.Message)}", e);
    }

    /// <summary>Parses protocol JSON (strict rules, limits) into a record.</summary>
    public static T Parse<T>(ReadOnlySpan<byte> utf8, JsonLimits? limits = null)
        where T : class => FromJsonObject<T>(ProtocolJson.ParseObject(utf8, limits));

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            RespectNullableAnnotations = true,
            TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { RequireNonOptionalMembers } },
            NumberHandling = JsonNumberHandling.Strict,
            AllowDuplicateProperties = false,
            MaxDepth = JsonLimits.Default.MaxDepth,
        };
        options.Converters.Add(new ExactEnumConverterFactory());
        options.Converters.Add(new SafeIntegerConverter());
        options.Converters.Add(new SafeInt32Converter());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>
    /// A constructor parameter is required unless it is nullable or has a default: the SDK's optional members
    /// (<c>parentId?</c>) may be absent wherever they stand in the field order, the others may not.
    /// </summary>
    private static void RequireNonOptionalMembers(JsonTypeInfo typeInfo)
    {
        foreach (var property in typeInfo.Properties)
        {
            if (property.AssociatedParameter is { } parameter)
            {
                property.IsRequired = !parameter.HasDefaultValue && !parameter.IsNullable;
            }
        }
    }

    /// <summary>The record's name as words ("OwnerUpdateRequest" → "owner update request"), never a .NET type name.</summary>
    private static string WireName(Type type)
    {
        var name = type.Name;
        var words = new System.Text.StringBuilder(name.Length + 8);
        foreach (var c in name)
        {
            if (char.IsUpper(c) && words.Length > 0)
            {
                words.Append(' ');
            }

            words.Append(char.ToLowerInvariant(c));
        }

        return words.ToString();
    }

    /// <summary>
    /// What was wrong, in the caller's terms: System.Text.Json's messages name our .NET types and members, which mean
    /// nothing to a caller and say more about the service than it should.
    /// </summary>
    private static string Reason(string message)
    {
        if (message.StartsWith("Expected ", StringComparison.Ordinal))
        {
            var end = message.IndexOf(". ", StringComparison.Ordinal);
            return end < 0 ? message : message[..(end + 1)]; // our converters' own words
        }

        const string Missing = "missing required properties including: ";
        var missing = message.IndexOf(Missing, StringComparison.Ordinal);
        if (missing >= 0)
        {
            return "missing required members " + message[(missing + Missing.Length)..].TrimEnd('.') + ".";
        }

        var unmapped = UnmappedMember().Match(message);
        if (unmapped.Success)
        {
            return $"unknown member '{unmapped.Groups["name"].Value}'.";
        }

        if (message.Contains("could not be converted", StringComparison.Ordinal) || message.Contains("cannot be converted", StringComparison.Ordinal))
        {
            return "a value has the wrong type or is not one of the allowed values.";
        }

        if (message.Contains("null", StringComparison.OrdinalIgnoreCase))
        {
            return "a member that must have a value is null.";
        }

        if (message.Contains("Duplicate", StringComparison.OrdinalIgnoreCase))
        {
            return "a member appears twice.";
        }

        return "the JSON does not have the expected shape.";
    }

    [System.Text.RegularExpressions.GeneratedRegex("The JSON property '(?<name>[^']{0,128})' could not be mapped")]
    private static partial System.Text.RegularExpressions.Regex UnmappedMember();
}

/// <summary>JSON that is well formed but is not the shape of the protocol object it should be.</summary>
public sealed class ProtocolModelException(string message, Exception? inner = null) : ProtocolException("invalid-shape", message, inner);
