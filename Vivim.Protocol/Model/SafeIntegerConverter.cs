using System.Text.Json;
using System.Text.Json.Serialization;

namespace Vivim.Protocol.Model;

/// <summary>
/// Integers with JavaScript's semantics: any JSON number whose value is an integer of at most 2^53 − 1 in magnitude
/// (so <c>1.7672256e12</c> is the integer 1767225600000, <c>1.5</c> is refused, and so is anything a double cannot
/// hold exactly).
/// </summary>
internal sealed class SafeIntegerConverter : JsonConverter<long>
{
    public const double MaxSafeInteger = 9007199254740991;

    public static bool TryRead(double number, out long value)
    {
        value = (long)number;
        return number == Math.Floor(number) && Math.Abs(number) <= MaxSafeInteger;
    }

    public override long Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out var number) && TryRead(number, out var value)
            ? value
            : throw new JsonException("Expected an integer of at most 2^53 - 1 in magnitude.");

    public override void Write(Utf8JsonWriter writer, long value, JsonSerializerOptions options) => writer.WriteNumberValue(value);
}

/// <summary>The same rule for 32-bit members, within their range.</summary>
internal sealed class SafeInt32Converter : JsonConverter<int>
{
    public override int Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out var number) && SafeIntegerConverter.TryRead(number, out var value) && value is >= int.MinValue and <= int.MaxValue
            ? (int)value
            : throw new JsonException("Expected a 32-bit integer.");

    public override void Write(Utf8JsonWriter writer, int value, JsonSerializerOptions options) => writer.WriteNumberValue(value);
}
