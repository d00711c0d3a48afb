using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Unicode;

namespace Vivim.Protocol.Json;

/// <summary>
/// Parses JSON with JavaScript's semantics and the protocol's rules: valid UTF-8 only, bounded size and depth,
/// duplicate keys and lone surrogates refused, numbers read as IEEE-754 doubles and refused when they overflow.
/// Every failure is a <see cref="JsonFormatException"/>.
/// </summary>
public static class ProtocolJson
{
    public static JsonNode? Parse(ReadOnlySpan<byte> utf8, JsonLimits? limits = null) => Parse(utf8, limits, allowLoneSurrogates: false);

    /// <summary>
    /// Parses like <see cref="Parse(ReadOnlySpan{byte}, JsonLimits?)"/>; with <paramref name="allowLoneSurrogates"/> an
    /// escaped lone surrogate (<c>"\ud800"</c>) is read as JavaScript reads it. Only for reproducing
    /// <c>JSON.stringify</c> inputs (the test vectors); protocol input never allows them.
    /// </summary>
    public static JsonNode? Parse(ReadOnlySpan<byte> utf8, JsonLimits? limits, bool allowLoneSurrogates)
    {
        limits ??= JsonLimits.Default;
        var reader = Open(utf8, limits);
        try
        {
            if (!reader.Read())
            {
                throw new JsonFormatException(JsonFormatException.Malformed, "JSON text is empty.");
            }

            var root = ReadValue(ref reader, limits, 1, allowLoneSurrogates);
            if (reader.Read())
            {
                throw new JsonFormatException(JsonFormatException.Malformed, $"Unexpected data after the JSON value at byte {reader.TokenStartIndex}.");
            }

            return root;
        }
        catch (JsonException e)
        {
            throw new JsonFormatException(JsonFormatException.Malformed, $"Malformed JSON: {e.Message}", e);
        }
    }

    public static JsonNode? Parse(string json, JsonLimits? limits = null) => Parse(Encoding.UTF8.GetBytes(json), limits);

    /// <summary>
    /// Holds the text to every rule of <see cref="Parse(ReadOnlySpan{byte}, JsonLimits?)"/>, with the same errors, but
    /// builds no tree: for a caller that then reads the text in another form (a record, raw slices).
    /// </summary>
    public static void Validate(ReadOnlySpan<byte> utf8, JsonLimits? limits = null)
    {
        limits ??= JsonLimits.Default;
        var reader = Open(utf8, limits);
        try
        {
            if (!reader.Read())
            {
                throw new JsonFormatException(JsonFormatException.Malformed, "JSON text is empty.");
            }

            ValidateValue(ref reader, limits, 1);
            if (reader.Read())
            {
                throw new JsonFormatException(JsonFormatException.Malformed, $"Unexpected data after the JSON value at byte {reader.TokenStartIndex}.");
            }
        }
        catch (JsonException e)
        {
            throw new JsonFormatException(JsonFormatException.Malformed, $"Malformed JSON: {e.Message}", e);
        }
    }

    private static void ValidateValue(ref Utf8JsonReader reader, JsonLimits limits, int depth)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                CheckDepth(depth, limits);
                HashSet<string>? keys = null;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var key = ReadString(ref reader, allowLoneSurrogates: false);
                    if (!(keys ??= new HashSet<string>(StringComparer.Ordinal)).Add(key))
                    {
                        throw new JsonFormatException(JsonFormatException.DuplicateKey, $"Duplicate key \"{Truncate(key)}\" at byte {reader.TokenStartIndex}.");
                    }

                    reader.Read();
                    ValidateValue(ref reader, limits, depth + 1);
                }

                return;
            case JsonTokenType.StartArray:
                CheckDepth(depth, limits);
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    ValidateValue(ref reader, limits, depth + 1);
                }

                return;
            case JsonTokenType.String:
                // Valid UTF-8 holds no lone surrogate: only an escaped one can be, and decoding finds it.
                if (reader.ValueIsEscaped)
                {
                    ReadString(ref reader, allowLoneSurrogates: false);
                }

                return;
            case JsonTokenType.Number:
                if (!reader.TryGetDouble(out var number) || !double.IsFinite(number))
                {
                    throw new JsonFormatException(JsonFormatException.NumberOutOfRange, $"Number at byte {reader.TokenStartIndex} is outside the range of an IEEE-754 double.");
                }

                return;
            case JsonTokenType.True or JsonTokenType.False or JsonTokenType.Null:
                return;
            default:
                throw new JsonFormatException(JsonFormatException.Malformed, $"Unexpected token {reader.TokenType} at byte {reader.TokenStartIndex}.");
        }
    }

    /// <summary>A reader over text within the size limit and valid UTF-8.</summary>
    private static Utf8JsonReader Open(ReadOnlySpan<byte> utf8, JsonLimits limits)
    {
        if (utf8.Length > limits.MaxBytes)
        {
            throw new JsonFormatException(JsonFormatException.TooLarge, $"JSON text is {utf8.Length} bytes; the limit is {limits.MaxBytes}.");
        }

        // Utf8JsonReader checks structure but transcodes strings lazily, so validate the encoding up front.
        if (!Utf8.IsValid(utf8))
        {
            throw new JsonFormatException(JsonFormatException.InvalidUtf8, "JSON text is not valid UTF-8.");
        }

        return new Utf8JsonReader(utf8, new JsonReaderOptions
        {
            // One more than ours, so that our own check (with its typed error) always fires first.
            MaxDepth = limits.MaxDepth + 1,
            CommentHandling = JsonCommentHandling.Disallow,
            AllowTrailingCommas = false,
        });
    }

    /// <summary>Parses text that must hold a JSON object.</summary>
    public static JsonObject ParseObject(ReadOnlySpan<byte> utf8, JsonLimits? limits = null) =>
        Parse(utf8, limits) as JsonObject
        ?? throw new JsonFormatException(JsonFormatException.Malformed, "Expected a JSON object.");

    public static JsonObject ParseObject(string json, JsonLimits? limits = null) => ParseObject(Encoding.UTF8.GetBytes(json), limits);

    private static JsonNode? ReadValue(ref Utf8JsonReader reader, JsonLimits limits, int depth, bool allowLoneSurrogates)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                return ReadObject(ref reader, limits, depth, allowLoneSurrogates);
            case JsonTokenType.StartArray:
                return ReadArray(ref reader, limits, depth, allowLoneSurrogates);
            case JsonTokenType.String:
                return JsonValue.Create(ReadString(ref reader, allowLoneSurrogates));
            case JsonTokenType.Number:
                if (!reader.TryGetDouble(out var number) || !double.IsFinite(number))
                {
                    throw new JsonFormatException(JsonFormatException.NumberOutOfRange, $"Number at byte {reader.TokenStartIndex} is outside the range of an IEEE-754 double.");
                }

                return JsonValue.Create(number);
            case JsonTokenType.True:
                return JsonValue.Create(true);
            case JsonTokenType.False:
                return JsonValue.Create(false);
            case JsonTokenType.Null:
                return null;
            default:
                throw new JsonFormatException(JsonFormatException.Malformed, $"Unexpected token {reader.TokenType} at byte {reader.TokenStartIndex}.");
        }
    }

    private static JsonObject ReadObject(ref Utf8JsonReader reader, JsonLimits limits, int depth, bool allowLoneSurrogates)
    {
        CheckDepth(depth, limits);
        var obj = new JsonObject();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = ReadString(ref reader, allowLoneSurrogates);
            if (obj.ContainsKey(key))
            {
                throw new JsonFormatException(JsonFormatException.DuplicateKey, $"Duplicate key \"{Truncate(key)}\" at byte {reader.TokenStartIndex}.");
            }

            reader.Read();
            obj.Add(key, ReadValue(ref reader, limits, depth + 1, allowLoneSurrogates));
        }

        return obj;
    }

    private static JsonArray ReadArray(ref Utf8JsonReader reader, JsonLimits limits, int depth, bool allowLoneSurrogates)
    {
        CheckDepth(depth, limits);
        var array = new JsonArray();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            array.Add(ReadValue(ref reader, limits, depth + 1, allowLoneSurrogates));
        }

        return array;
    }

    private static string ReadString(ref Utf8JsonReader reader, bool allowLoneSurrogates)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException) when (allowLoneSurrogates && !reader.HasValueSequence)
        {
            return UnescapeAllowingLoneSurrogates(reader.ValueSpan);
        }
        catch (InvalidOperationException e)
        {
            // The reader refuses escaped lone surrogates ("\ud800") when it decodes the string.
            throw new JsonFormatException(JsonFormatException.LoneSurrogate, $"String at byte {reader.TokenStartIndex} is not well-formed UTF-16: {e.Message}", e);
        }
    }

    /// <summary>JSON string unescaping that, like JavaScript, keeps <c>\uXXXX</c> surrogates that have no partner.</summary>
    private static string UnescapeAllowingLoneSurrogates(ReadOnlySpan<byte> raw)
    {
        var sb = new StringBuilder(raw.Length);
        var runStart = 0;
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] != (byte)'\\')
            {
                continue;
            }

            sb.Append(Encoding.UTF8.GetString(raw[runStart..i]));
            var escape = (char)raw[++i];
            switch (escape)
            {
                case 'u':
                    sb.Append((char)int.Parse(Encoding.ASCII.GetString(raw.Slice(i + 1, 4)), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture));
                    i += 4;
                    break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                default: sb.Append(escape); break; // \" \\ \/ (the reader has validated the escape)
            }

            runStart = i + 1;
        }

        return sb.Append(Encoding.UTF8.GetString(raw[runStart..])).ToString();
    }

    private static void CheckDepth(int depth, JsonLimits limits)
    {
        if (depth > limits.MaxDepth)
        {
            throw new JsonFormatException(JsonFormatException.TooDeep, $"JSON nesting exceeds {limits.MaxDepth} levels.");
        }
    }

    private static string Truncate(string key) => key.Length <= 64 ? key : key[..64] + "…";
}
