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
/// rest of the request's reading. The refusals come in this order: the JSON rules; the envelope's, as for a clone's
/// batch (<see cref="UpdateBatchBody.Slices"/>: unknown members, each element an object, a non-empty array within the
/// cap); then each update in turn (its shape, then its path).
/// </summary>
public static class OwnerUpdateBatchBody
{
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

        // Valid JSON within the limits from here on: the envelope's refusals are a clone batch's, then each update's.
        var updates = new List<OwnerUpdate>();
        foreach (var slice in UpdateBatchBody.Slices(body, maxUpdates))
        {
            updates.Add(ToOwnerUpdate(ApiJson.ReadChecked<ExitNodeEndpoints.OwnerUpdateRequest>(body[slice])));
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
