using System.Text.Json.Nodes;
using Vivim.Clones;
using Vivim.Hosting;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Gateway.Api;

/// <summary>
/// A registered clone's sync calls, shared by the HTTP routes and <c>/vivim/sync/1.0.0</c>: the request members are
/// checked here and the grain answers in <see cref="WireJson"/> shapes. The caller has authenticated the clone and
/// runs this inside its principal.
/// </summary>
public static class CloneSyncCalls
{
    public const int DefaultUpdatesLimit = 100;
    public const int MaxUpdatesLimit = 1000;

    public static Task<StateSnapshot> SnapshotAsync(IGrainFactory grains, string cloneId) => Clone(grains, cloneId).GetSnapshotAsync();

    /// <summary>
    /// <c>{updates, commits, headSeq}</c> as UTF-8 after <paramref name="after"/> (the updates as the log stores them);
    /// a cursor behind the retained log is <c>resync-required</c>.
    /// </summary>
    public static async Task<byte[]> UpdatesAsync(IGrainFactory grains, string cloneId, long? after, long? limit)
    {
        if (after is < 0)
        {
            throw ApiJson.Bad("after is a seq (0 or more).");
        }

        if (limit is < 1 or > MaxUpdatesLimit)
        {
            throw ApiJson.Bad($"limit is 1..{MaxUpdatesLimit}.");
        }

        var page = await Clone(grains, cloneId).GetUpdatesAsync(after ?? 0, (int)(limit ?? DefaultUpdatesLimit));
        return page.ResyncRequired
            ? throw new ApiException(StatusCodes.Status410Gone, "resync-required", "The cursor is behind the retained log: take a new snapshot.")
            : WireJson.Page(page.Updates, page.Commits, page.HeadSeq);
    }

    /// <summary>Submits <c>{updates: [...]}</c>, each update as the JSON its author signed (the anchor verifies it).</summary>
    public static Task<SubmitResult> SubmitAsync(IGrainFactory grains, string cloneId, JsonObject body, int maxUpdates)
    {
        ApiJson.OnlyMembers(body, "updates");
        var array = RequestBounds.Batch(body, maxUpdates);

        var texts = array.Select((node, index) => node is JsonObject update
            ? JavaScriptJson.Stringify(update)
            : throw ApiJson.Bad($"updates[{index}] must be an object.")).ToList();
        return Clone(grains, cloneId).SubmitAsync(texts);
    }

    /// <summary>
    /// Acknowledges <c>{seq, stateHash?}</c>: everything up to seq is applied. The clone's <c>stateHash</c> is accepted for
    /// the SDK's sake but not recorded: the status reports the root the anchor committed at the cursor, not a claim.
    /// </summary>
    public static Task AcknowledgeAsync(IGrainFactory grains, string cloneId, JsonObject body)
    {
        ApiJson.OnlyMembers(body, "seq", "stateHash");
        var seq = ApiJson.Long(body, "seq", required: true)!.Value;
        if (seq < 0)
        {
            throw ApiJson.Bad("seq is 0 or more.");
        }

        _ = ApiJson.String(body, "stateHash", 64, required: false);
        return Clone(grains, cloneId).AcknowledgeAsync(seq, string.Empty);
    }

    public static async Task<JsonObject> StatusAsync(IGrainFactory grains, string cloneId) =>
        WireJson.CloneStatus(await Clone(grains, cloneId).GetStatusAsync());

    private static ICloneGrain Clone(IGrainFactory grains, string cloneId) => grains.GetResolvedGrain<ICloneGrain>(cloneId);
}
