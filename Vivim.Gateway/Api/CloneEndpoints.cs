using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Vivim.Clones;
using Vivim.Gateway.Auth;
using Vivim.Gateway.Hosting;
using Vivim.Protocol.Json;

namespace Vivim.Gateway.Api;

/// <summary>A registered clone's own routes, every request signed with its DID's key (RFC 9421).</summary>
public static class CloneEndpoints
{
    private const int DefaultUpdatesLimit = 100;
    private const int MaxUpdatesLimit = 1000;

    public static void MapCloneEndpoints(this IEndpointRouteBuilder v1, ApiAuthentication auth)
    {
        var clones = v1.MapGroup("/clones/{cloneId}").AddEndpointFilter(auth.CloneAsync).WithTags("Sync");
        clones.MapGet("/snapshot", SnapshotAsync).WithName("getSnapshot").WithSummary("The signed StateSnapshot (v1 signature, v2 proof, seq, rootV2)");
        clones.MapGet("/updates", UpdatesAsync).WithName("getUpdates").WithSummary("Committed updates after a seq with every overlapping commit");
        clones.MapPost("/updates", SubmitAsync).WithName("submitUpdates").WithSummary("Updates the clone signed (v1 and v2); atomic batch");
        clones.MapPost("/ack", AcknowledgeAsync).WithName("acknowledge").WithSummary("Everything up to seq is applied");
        clones.MapGet("/status", StatusAsync).WithName("getSyncStatus").WithSummary("SyncStatus with cursor and headSeq");
        clones.MapDelete("/", DeregisterAsync).WithName("deregisterClone").WithSummary("The clone deregisters itself");
        clones.MapPost("/sync-ticket", TicketAsync).WithName("createSyncTicket").WithSummary("A single-use ticket for a browser's WebSocket upgrade");
    }

    private static ICloneGrain Clone(IGrainFactory grains, string cloneId) => grains.GetGrain<ICloneGrain>(cloneId);

    private static async Task<IResult> SnapshotAsync(string cloneId, IGrainFactory grains) =>
        ApiJson.Protocol(await Clone(grains, cloneId).GetSnapshotAsync());

    private static async Task<IResult> UpdatesAsync(string cloneId, IGrainFactory grains, long? after, int? limit)
    {
        if (after is < 0)
        {
            throw ApiJson.Bad("after is a seq (0 or more).");
        }

        if (limit is < 1 or > MaxUpdatesLimit)
        {
            throw ApiJson.Bad($"limit is 1..{MaxUpdatesLimit}.");
        }

        var page = await Clone(grains, cloneId).GetUpdatesAsync(after ?? 0, limit ?? DefaultUpdatesLimit);
        return page.ResyncRequired
            ? ApiProblem.Create(StatusCodes.Status410Gone, "resync-required", "The cursor is behind the retained log: take a new snapshot.")
            : ApiJson.Page(page);
    }

    private static async Task<IResult> SubmitAsync(HttpContext context, string cloneId, IGrainFactory grains, IOptions<GatewayOptions> options)
    {
        var body = await ApiJson.ReadObjectAsync(context, options.Value.MaxRequestBytes);
        ApiJson.OnlyMembers(body, "updates");
        if (body["updates"] is not JsonArray array || array.Count == 0)
        {
            throw ApiJson.Bad("'updates' must be a non-empty array.");
        }

        // Each update goes on as the JSON its author signed; the anchor verifies it.
        var texts = array.Select((node, index) => node is JsonObject update
            ? JavaScriptJson.Stringify(update)
            : throw ApiJson.Bad($"updates[{index}] must be an object.")).ToList();
        return ApiJson.Receipts(await Clone(grains, cloneId).SubmitAsync(texts));
    }

    private static async Task<IResult> AcknowledgeAsync(HttpContext context, string cloneId, IGrainFactory grains, IOptions<GatewayOptions> options)
    {
        var body = await ApiJson.ReadObjectAsync(context, options.Value.MaxSmallBodyBytes);
        ApiJson.OnlyMembers(body, "seq", "stateHash");
        var seq = ApiJson.Long(body, "seq", required: true)!.Value;
        if (seq < 0)
        {
            throw ApiJson.Bad("seq is 0 or more.");
        }

        var stateHash = ApiJson.String(body, "stateHash", 64, required: false) ?? string.Empty;
        await Clone(grains, cloneId).AcknowledgeAsync(seq, stateHash);
        return Results.NoContent();
    }

    private static async Task<IResult> StatusAsync(string cloneId, IGrainFactory grains)
    {
        return ApiJson.Object(WireJson.CloneStatus(await Clone(grains, cloneId).GetStatusAsync()));
    }

    private static async Task<IResult> DeregisterAsync(string cloneId, IGrainFactory grains)
    {
        await Clone(grains, cloneId).DeregisterAsync();
        return Results.NoContent();
    }

    private static async Task<IResult> TicketAsync(string cloneId, IGrainFactory grains)
    {
        var ticket = await Clone(grains, cloneId).IssueSyncTicketAsync();
        return Results.Json(new { ticket = ticket.Ticket, expiresAt = ticket.ExpiresAt });
    }
}
