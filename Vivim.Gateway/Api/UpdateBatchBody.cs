using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Vivim.Protocol.Json;

namespace Vivim.Gateway.Api;

/// <summary>
/// A clone's <c>{updates: [...]}</c> body cut into its updates' texts as the author sent them. The anchor parses,
/// checks and verifies each update in full, so no tree is built here: a tree and a re-serialization per update were a
/// tenth of a clone write's cost. The envelope is held to the rules a parsed body is (UTF-8, depth, duplicate and
/// unknown members, one non-empty array within the batch cap); what is wrong inside an update is that update's
/// rejection, with its index, from the anchor.
/// </summary>
public static class UpdateBatchBody
{
    private const string Member = "updates";

    public static List<string> Split(ReadOnlySpan<byte> body, int maxUpdates)
    {
        var slices = Slices(body, maxUpdates);
        var texts = new List<string>(slices.Count);
        foreach (var slice in slices)
        {
            texts.Add(Encoding.UTF8.GetString(body[slice]));
        }

        return texts;
    }

    /// <summary>
    /// Where each update lies in <paramref name="body"/>, with the envelope's refusals (<see cref="Split"/>'s); the
    /// owner's route, which holds the whole body to the JSON rules first, reads its updates from these slices too.
    /// </summary>
    public static List<Range> Slices(ReadOnlySpan<byte> body, int maxUpdates)
    {
        if (!Utf8.IsValid(body))
        {
            throw new ApiException(StatusCodes.Status400BadRequest, JsonFormatException.InvalidUtf8, "JSON text is not valid UTF-8.");
        }

        var maxDepth = JsonLimits.Default.MaxDepth;
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = maxDepth + 1, CommentHandling = JsonCommentHandling.Disallow });
        var slices = new List<Range>();
        var count = 0;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new ApiException(StatusCodes.Status400BadRequest, JsonFormatException.Malformed, "Expected a JSON object.");
            }

            var seen = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (!reader.ValueTextEquals(Member))
                {
                    throw ApiJson.Bad($"Unknown member '{Truncate(reader.GetString() ?? string.Empty)}'.");
                }

                if (seen)
                {
                    throw new ApiException(StatusCodes.Status400BadRequest, JsonFormatException.DuplicateKey, $"Duplicate key \"{Member}\" at byte {reader.TokenStartIndex}.");
                }

                seen = true;
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    SkipValue(ref reader, maxDepth);
                    continue; // refused below, once the whole body is known to be JSON
                }

                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        throw ApiJson.Bad($"updates[{count}] must be an object.");
                    }

                    var start = (int)reader.TokenStartIndex;
                    SkipValue(ref reader, maxDepth);
                    if (++count <= maxUpdates)
                    {
                        slices.Add(start..(int)reader.BytesConsumed);
                    }
                }
            }

            if (reader.Read())
            {
                throw new ApiException(StatusCodes.Status400BadRequest, JsonFormatException.Malformed, $"Unexpected data after the JSON value at byte {reader.TokenStartIndex}.");
            }
        }
        catch (JsonException e)
        {
            throw new ApiException(StatusCodes.Status400BadRequest, JsonFormatException.Malformed, $"Malformed JSON: {e.Message}");
        }

        if (count == 0)
        {
            throw ApiJson.Bad("'updates' must be a non-empty array.");
        }

        return count <= maxUpdates
            ? slices
            : throw new ApiException(StatusCodes.Status413PayloadTooLarge, "too-large", $"A batch holds at most {maxUpdates} updates; this one holds {count}.");
    }

    /// <summary>Moves past the value the reader is on, refusing nesting deeper than the protocol's limit (as a parse would).</summary>
    private static void SkipValue(ref Utf8JsonReader reader, int maxDepth)
    {
        if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            return;
        }

        var depth = reader.CurrentDepth;
        while (reader.Read() && reader.CurrentDepth > depth)
        {
            // A container at reader depth d is at depth d + 1 as ProtocolJson counts (the root is 1).
            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && reader.CurrentDepth >= maxDepth)
            {
                throw new ApiException(StatusCodes.Status400BadRequest, JsonFormatException.TooDeep, $"JSON nesting exceeds {maxDepth} levels.");
            }
        }
    }

    private static string Truncate(string name) => name.Length <= 64 ? name : name[..64] + "…";
}
