using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Vivim.Protocol.Json;

namespace Vivim.Protocol.Model;

/// <summary>
/// A free-form JSON value (a document, an update's <c>data</c>, a snapshot's <c>state</c>) kept as its text in
/// <c>JSON.stringify</c> form, so that no serializer reorders or reformats it between silos and storage.
/// </summary>
[GenerateSerializer, Immutable, Alias("vivim.RawJson")]
[JsonConverter(typeof(RawJsonConverter))]
public readonly record struct RawJson([property: Id(0)] string Text)
{
    public static RawJson Null { get; } = new("null");

    public static RawJson From(JsonNode? value, JsonLimits? limits = null) => new(JavaScriptJson.Stringify(value, limits));

    public JsonNode? Parse(JsonLimits? limits = null) => ProtocolJson.Parse(Text ?? "null", limits);

    public override string ToString() => Text ?? "null";
}

internal sealed class RawJsonConverter : JsonConverter<RawJson>
{
    /// <summary>
    /// A value whose <c>JSON.stringify</c> text the caller has already found in the buffer being read, by where it
    /// starts (a received update's <c>data</c>): read as that text rather than as a tree written out again. Set
    /// only around one read on this thread.
    /// </summary>
    [ThreadStatic]
    internal static (long Start, string Text)? t_stringified;

    public override bool HandleNull => true;

    public override RawJson Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (t_stringified is { } known && reader.TokenStartIndex == known.Start && !reader.HasValueSequence)
        {
            reader.Skip();
            return new RawJson(known.Text);
        }

        return RawJson.From(JsonNode.Parse(ref reader));
    }

    public override void Write(Utf8JsonWriter writer, RawJson value, JsonSerializerOptions options) =>
        writer.WriteRawValue(value.Text ?? "null", skipInputValidation: false);
}
