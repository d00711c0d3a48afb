using Microsoft.Extensions.Options;
using Vivim.Anchors;
using Vivim.Clones;
using Vivim.Gateway.Auth;
using Vivim.Gateway.Hosting;
using Vivim.Hosting;

namespace Vivim.Gateway.Api;

/// <summary>A registered clone's own routes, every request signed with its DID's key (RFC 9421).</summary>
public static class CloneEndpoints
{
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

    private static ICloneGrain Clone(IGrainFactory grains, string cloneId) => grains.GetResolvedGrain<ICloneGrain>(cloneId);

    private static async Task<IResult> SnapshotAsync(string cloneId, IGrainFactory grains) =>
        ApiJson.Protocol(await CloneSyncCalls.SnapshotAsync(grains, cloneId));

    private static async Task<IResult> UpdatesAsync(string cloneId, IGrainFactory grains, long? after, int? limit) =>
        Results.Bytes(await CloneSyncCalls.UpdatesAsync(grains, cloneId, after, limit), ApiJson.ContentType);

    private static async Task<IResult> SubmitAsync(HttpContext context, string cloneId, IGrainFactory grains, IOptions<GatewayOptions> options, IOptions<AnchorOptions> anchor)
    {
        ApiJson.RequireJson(context);
        var texts = UpdateBatchBody.Split(await ApiJson.ReadBodyAsync(context, options.Value.MaxRequestBytes), anchor.Value.MaxBatchUpdates);
        return ApiJson.Receipts(await Clone(grains, cloneId).SubmitAsync(texts));
    }

    private static async Task<IResult> AcknowledgeAsync(HttpContext context, string cloneId, IGrainFactory grains, IOptions<GatewayOptions> options)
    {
        var body = await ApiJson.ReadObjectAsync(context, options.Value.MaxSmallBodyBytes);
        await CloneSyncCalls.AcknowledgeAsync(grains, cloneId, body);
        return Results.NoContent();
    }

    private static async Task<IResult> StatusAsync(string cloneId, IGrainFactory grains) =>
        ApiJson.Object(await CloneSyncCalls.StatusAsync(grains, cloneId));

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
