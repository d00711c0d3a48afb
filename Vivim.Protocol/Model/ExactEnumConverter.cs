using System.Text.Json;
using System.Text.Json.Serialization;

namespace Vivim.Protocol.Model;

/// <summary>
/// Enums as their exact camelCase names (<c>"secondary"</c>). Unlike the framework's converter it refuses other
/// casings and numbers, so <c>"CREATE"</c> or <c>2</c> never reach a grain.
/// </summary>
internal sealed class ExactEnumConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) => typeToConvert.IsEnum;

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(ExactEnumConverter<>).MakeGenericType(typeToConvert))!;
}

internal sealed class ExactEnumConverter<T> : JsonConverter<T>
    where T : struct, Enum
{
    private static readonly Dictionary<string, T> ByName =
        Enum.GetValues<T>().ToDictionary(v => JsonNamingPolicy.CamelCase.ConvertName(v.ToString()), StringComparer.Ordinal);

    private static readonly Dictionary<T, string> NameOf = ByName.ToDictionary(p => p.Value, p => p.Key);

    private static readonly string Allowed = string.Join(", ", ByName.Keys);

    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String && ByName.TryGetValue(reader.GetString()!, out var value))
        {
            return value;
        }

        throw new JsonException($"Expected one of: {Allowed}.");
    }

    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
        writer.WriteStringValue(NameOf.TryGetValue(value, out var name) ? name : throw new JsonException($"{typeof(T).Name} has no value {value}."));
}
