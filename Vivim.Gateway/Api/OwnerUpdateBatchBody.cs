using System.Text.Json;
using Vivim.Protocol;
using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.State;

namespace Vivim.Gateway.Api;

/// <summary>
/// An owner's <c>{updates: [...]}</c> body read straight into the updates the exit node signs. The body is held to the
/// protocol's JSON rules in one pass that builds no tree, then each update is read as a record from its own slice of
/// the text: a tree of the whole body and each update written back out to be read as a record cost more than the
/// rest of the request's reading. The refusals are those of a parsed body, in the same order: the JSON rules, unknown
/// members, the array and its cap, then each update in turn (its shape, then its path).
/// </summary>
public static class OwnerUpdateBatchBody
{
    private const string Member = "updates";

    public static List<OwnerUpdate> Read(ReadOnlySpan<byte> body, int maxBytes, int maxUpdates)
    {
        var limits = new JsonLimits(maxBytes, JsonLimits.Default.MaxDepth);
        try
        {
            ProtocolJson.Validate(body, limits);
        }
        catch (ProtocolException e)
        {
            throw new ApiException(StatusCodes.Status400BadRequest, e.Code, e.Message);
        }

        // The text is valid JSON within the limits from here on: what is left is its shape.
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = limits.MaxDepth + 1 });
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new ApiException(StatusCodes.Status400BadRequest, JsonFormatException.Malformed, "Expected a JSON object.");
        }

        // Each update's slice, or (-1, -1) for an element that is not an object; null while no array was seen.
        List<(int Start, int End)>? slices = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (!reader.ValueTextEquals(Member))
            {
                throw ApiJson.Bad($"Unknown member '{reader.GetString()}'.");
            }

            reader.Read();
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                reader.Skip();
                continue; // refused below, once every member is known
            }

            slices = [];
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                var start = (int)reader.TokenStartIndex;
                var isObject = reader.TokenType == JsonTokenType.StartObject;
                reader.Skip();
                slices.Add(isObject ? (start, (int)reader.BytesConsumed) : (-1, -1));
            }
        }

        if (slices is not { Count: > 0 })
        {
            throw ApiJson.Bad("'updates' must be a non-empty array.");
        }

        if (slices.Count > maxUpdates)
        {
            throw new ApiException(StatusCodes.Status413PayloadTooLarge, "too-large", $"A batch holds at most {maxUpdates} updates; this one holds {slices.Count}.");
        }

        var updates = new List<OwnerUpdate>(slices.Count);
        for (var i = 0; i < slices.Count; i++)
        {
            var (start, end) = slices[i];
            if (start < 0)
            {
                throw ApiJson.Bad($"updates[{i}] must be an object.");
            }

            updates.Add(ToOwnerUpdate(ApiJson.ReadChecked<ExitNodeEndpoints.OwnerUpdateRequest>(body[start..end])));
        }

        return updates;
    }

    private static OwnerUpdate ToOwnerUpdate(ExitNodeEndpoints.OwnerUpdateRequest request)
    {
        if (StateRules.PathProblem(request.Path, request.Type) is { } problem)
        {
            throw new ApiException(StatusCodes.Status400BadRequest, "invalid-path", problem);
        }

        return new OwnerUpdate(request.Type, request.Operation, request.Path, request.Data ?? RawJson.Null, request.UpdateId, request.BaseSeq);
    }
}
