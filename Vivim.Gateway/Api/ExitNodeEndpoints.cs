using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Vivim.Anchors;
using Vivim.ExitNodes;
using Vivim.Gateway.Auth;
using Vivim.Gateway.Hosting;
using Vivim.Gateway.Limits;
using Vivim.Hosting;
using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.State;
using Vivim.Protocol.Sync;
using Vivim.Security;
using Vivim.Tenants;

namespace Vivim.Gateway.Api;

/// <summary>A tenant's hosted parent nodes: lifecycle, advertisement, owner writes, reads, export and clone management.</summary>
public static class ExitNodeEndpoints
{
    private const int DefaultPageSize = 100;
    private const int ExportPageSize = 1000;

    public static void MapExitNodeEndpoints(this IEndpointRouteBuilder v1, ApiAuthentication auth)
    {
        var hosted = v1.ServiceProvider.GetRequiredService<HostedDidGate>();
        var nodes = v1.MapGroup("/exit-nodes").AddEndpointFilter(auth.TenantAsync).AddEndpointFilter(hosted.FilterAsync).WithTags("Exit nodes");
        nodes.MapPost("/", CreateAsync).WithName("createExitNode").WithSummary("Hosts a parent node (custodial or imported key)");
        nodes.MapGet("/", ListAsync).WithName("listExitNodes").WithSummary("Lists the tenant's exit nodes");
        nodes.MapGet("/{did}", GetAsync).WithName("getExitNode").WithSummary("One exit node with its advertisement and head");
        nodes.MapDelete("/{did}", DeleteAsync).WithName("deleteExitNode").WithSummary("Deletes an exit node: clones are told to stop, data is removed");
        nodes.MapGet("/{did}/export", ExportAsync).WithName("exportExitNode").WithSummary("The signed snapshot and the retained log, streamed");
        nodes.MapPut("/{did}/advertisement", AdvertiseAsync).WithName("updateAdvertisement").WithSummary("Changes capabilities, policy or endpoints and re-advertises");
        nodes.MapPost("/{did}/updates", WriteAsync).WithName("writeUpdates").WithSummary("Owner writes, signed by the parent's key; atomic batch");
        nodes.MapGet("/{did}/document-paths", ListDocumentPathsAsync).WithName("listDocumentPaths").WithSummary("The paths of the node's documents, by path");
        nodes.MapGet("/{did}/commits", ListCommitsAsync).WithName("listCommits").WithSummary("The signed commits covering a range of the retained log");
        nodes.MapGet("/{did}/documents/{**path}", GetDocumentAsync).WithName("getDocument").WithSummary("One document with its Merkle proof");
        nodes.MapGet("/{did}/clones", ListClonesAsync).WithName("listClones").WithSummary("The node's clones");
        nodes.MapPost("/{did}/clones/{cloneId}/suspend", (HttpContext c, string did, string cloneId, IGrainFactory g, IOptions<GatewayOptions> o) => ChangeTrustAsync(c, did, cloneId, g, o, suspend: true))
            .WithName("suspendClone").WithSummary("Suspends a clone at once; returns the signed TrustProof");
        nodes.MapPost("/{did}/clones/{cloneId}/reinstate", (HttpContext c, string did, string cloneId, IGrainFactory g, IOptions<GatewayOptions> o) => ChangeTrustAsync(c, did, cloneId, g, o, suspend: false))
            .WithName("reinstateClone").WithSummary("Reinstates a suspended clone; returns the signed TrustProof");
        nodes.MapPut("/{did}/clones/{cloneId}/permissions", SetPermissionsAsync).WithName("setClonePermissions").WithSummary("Sets a clone's permissions at once; returns the signed TrustProof");
        var events = v1.ServiceProvider.GetRequiredService<ExitNodeEventStream>();
        nodes.MapGet("/{did}/events", (HttpContext c, string did, IGrainFactory g) => events.StreamAsync(c, did, g))
            .WithName("streamExitNodeEvents").WithSummary("Server-Sent Events: commits, clone and registration events, clones' progress");
        nodes.MapDelete("/{did}/clones/{cloneId}", RemoveCloneAsync).WithName("removeClone").WithSummary("Removes a clone");
    }

    private static async Task<IResult> CreateAsync(HttpContext context, IGrainFactory grains, IOptions<GatewayOptions> options)
    {
        var body = await ApiJson.ReadOptionalObjectAsync(context, options.Value.MaxSmallBodyBytes);
        var creation = ApiJson.Read<ExitNodeCreation>(body);
        var tenant = ApiAuthentication.Tenant(context);
        var advertisement = await grains.GetGrain<ITenantGrain>(tenant.TenantId).CreateExitNodeAsync(creation);
        return ApiJson.Object(new JsonObject { ["did"] = advertisement.Did, ["advertisement"] = ApiJson.ToNode(advertisement) }, StatusCodes.Status201Created);
    }

    private static async Task<IResult> ListAsync(HttpContext context, IGrainFactory grains, int? limit, string? cursor)
    {
        var page = await grains.GetGrain<ITenantGrain>(ApiAuthentication.Tenant(context).TenantId).ListExitNodesAsync(cursor, PageSize(limit));
        return Results.Json(new { items = page.Items.Select(i => new { did = i.Did, headSeq = i.HeadSeq, cloneCount = i.CloneCount, stateBytes = i.StateBytes }), nextCursor = page.NextCursor });
    }

    /// <summary>
    /// The node's part and the anchor's head asked at once: the head only as the service (anchors know no tenants), and
    /// answered only if the node, which checks the tenant, answered too.
    /// </summary>
    private static async Task<IResult> GetAsync(string did, IGrainFactory grains, CallPrincipals principals)
    {
        var reading = grains.GetResolvedGrain<IExitNodeGrain>(did).GetReadingAsync();
        Task<AnchorHead> head;
        using (principals.Enter(CallPrincipal.Service))
        {
            head = grains.GetResolvedGrain<IAnchorStateGrain>(did).GetHeadAsync();
        }

        // Both awaited, so neither's failure goes unobserved; the node's refusal is the one thrown.
        await Task.WhenAll(reading, head);
        return Results.Bytes(ReadingJson(await reading, await head), ApiJson.ContentType);
    }

    /// <summary>
    /// <c>{did, advertisement, headSeq, root, cloneCount, stateBytes}</c>, the same bytes as stringifying those members
    /// would give, around the advertisement text the node keeps: a read serializes five scalars, not the advertisement.
    /// </summary>
    private static byte[] ReadingJson(ExitNodeReading reading, AnchorHead head)
    {
        var before = Encoding.UTF8.GetBytes($"{{\"did\":{Scalar(JsonValue.Create(reading.Did))},\"advertisement\":");
        var after = Encoding.UTF8.GetBytes(
            $",\"headSeq\":{Scalar(JsonValue.Create(head.Seq))},\"root\":{Scalar(JsonValue.Create(head.Root))}" +
            $",\"cloneCount\":{Scalar(JsonValue.Create(reading.CloneCount))},\"stateBytes\":{Scalar(JsonValue.Create(head.StateBytes))}}}");
        var advertisement = reading.AdvertisementJson;
        var json = new byte[before.Length + advertisement.Length + after.Length];
        before.CopyTo(json, 0);
        advertisement.CopyTo(json, before.Length);
        after.CopyTo(json, before.Length + advertisement.Length);
        return json;

        static string Scalar(JsonValue value) => JavaScriptJson.Stringify(value);
    }

    private static async Task<IResult> DeleteAsync(HttpContext context, string did, IGrainFactory grains)
    {
        await grains.GetGrain<ITenantGrain>(ApiAuthentication.Tenant(context).TenantId).DeleteExitNodeAsync(did);
        return Results.NoContent();
    }

    /// <summary>
    /// <c>{did, snapshot, updates, commits}</c>: the snapshot at seq S, then the retained updates up to S page by page,
    /// then each commit overlapping them once. Written as it is read, so a large log never sits in memory.
    /// </summary>
    private static async Task ExportAsync(HttpContext context, string did, IGrainFactory grains)
    {
        var node = grains.GetGrain<IExitNodeGrain>(did);
        var snapshot = await node.GetSnapshotAsync();
        var snapshotSeq = snapshot.Seq ?? 0;

        // A log truncated by retention starts later than seq 1.
        var after = Math.Max(0, (await node.GetInfoAsync()).RetainedFromSeq - 1);

        context.Response.ContentType = ApiJson.ContentType;
        context.Response.Headers.ContentDisposition = "attachment; filename=\"export.json\"";
        var output = context.Response.BodyWriter.AsStream();
        await Write(output, $"{{\"did\":{JavaScriptJson.Stringify(JsonValue.Create(did))},\"snapshot\":{ProtocolModel.ToJson(snapshot)},\"updates\":[", context);

        var commits = new SortedDictionary<long, Commit>();
        var separator = string.Empty;
        while (after < snapshotSeq)
        {
            var page = await node.GetUpdatesAsync(after, ExportPageSize);
            if (page.ResyncRequired || page.Updates.Count == 0)
            {
                break; // retention moved on while exporting: the export ends with what was still there
            }

            var text = new StringBuilder();
            foreach (var update in page.Updates.Where(u => u.Seq <= snapshotSeq))
            {
                text.Append(separator).Append(update.Json);
                separator = ",";
                after = update.Seq;
            }

            foreach (var commit in page.Commits)
            {
                commits.TryAdd(commit.FromSeq, commit);
            }

            await Write(output, text.ToString(), context);
            if (page.Updates[^1].Seq >= snapshotSeq)
            {
                break;
            }
        }

        await Write(output, "],\"commits\":[" + string.Join(',', commits.Values.Where(c => c.FromSeq <= snapshotSeq).Select(ProtocolModel.ToJson)) + "]}", context);
    }

    private static async Task Write(Stream output, string text, HttpContext context)
    {
        await output.WriteAsync(Encoding.UTF8.GetBytes(text), context.RequestAborted);
        await output.FlushAsync(context.RequestAborted);
    }

    private static async Task<IResult> AdvertiseAsync(HttpContext context, string did, IGrainFactory grains, IOptions<GatewayOptions> options)
    {
        var body = await ApiJson.ReadOptionalObjectAsync(context, options.Value.MaxSmallBodyBytes);
        var change = ApiJson.Read<AdvertisementChange>(body);
        var quota = ApiAuthentication.Tenant(context).Quotas.MaxClonesPerExitNode;
        if (change.Policy is { } policy && policy.MaxClones > quota)
        {
            throw new ApiException(StatusCodes.Status403Forbidden, "quota-exceeded", $"maxClones may be at most {quota} for this tenant.");
        }

        return ApiJson.Protocol(await grains.GetGrain<IExitNodeGrain>(did).UpdateAdvertisementAsync(change));
    }

    private static async Task<IResult> WriteAsync(HttpContext context, string did, IGrainFactory grains, GatewayRateLimiter limiter, IOptions<GatewayOptions> options, IOptions<AnchorOptions> anchor)
    {
        ApiJson.RequireJson(context);
        var updates = OwnerUpdateBatchBody.Read(await ApiJson.ReadBodyAsync(context, options.Value.MaxRequestBytes), options.Value.MaxRequestBytes, anchor.Value.MaxBatchUpdates);
        var tenant = ApiAuthentication.Tenant(context);
        limiter.ForOwnerWrites(did);
        limiter.ForTenantUpdates(tenant.TenantId, updates.Count, tenant.Quotas.UpdatesPerSecond ?? 1);
        var result = await grains.GetResolvedGrain<IExitNodeGrain>(did).WriteAsOwnerAsync(updates);
        return ApiJson.Receipts(result);
    }

    /// <summary>
    /// One document with its proof; with <c>?withCommit=true</c> also the signed commit of the root the proof is against
    /// (opt-in: clients that read the answer strictly know only the five members).
    /// </summary>
    private static async Task<IResult> GetDocumentAsync(HttpContext context, string did, string path, IGrainFactory grains, bool? withCommit)
    {
        path = DocumentPathRoute.Decode(context, path);
        if (Encoding.UTF8.GetByteCount(path) > StateRules.MaxPathBytes)
        {
            return ApiProblem.BadRequest("invalid-path", $"Paths are at most {StateRules.MaxPathBytes} bytes.");
        }

        var node = grains.GetGrain<IExitNodeGrain>(did);
        for (var attempt = 0; ; attempt++)
        {
            var document = await node.GetDocumentAsync(path);
            if (document is null)
            {
                return ApiProblem.NotFound($"No document {path}.");
            }

            var answer = WireJson.Document(document);
            if (withCommit != true)
            {
                return ApiJson.Object(answer);
            }

            if (await SignedRootAsync(node, document.Root) is { } commit)
            {
                answer["commit"] = ProtocolModel.ToJsonObject(commit);
                return ApiJson.Object(answer);
            }

            if (attempt == 2)
            {
                return ApiJson.Object(answer); // writes kept moving the head: the proof without its commit
            }
        }
    }

    private static readonly string[] DocumentCollections = ["nodes", "apps", "contentManifest", "socialGraph", "memoryIndex"];

    /// <summary>
    /// <c>{items: [{path}], nextCursor}</c> in ordinal path order, the cursor being the last path given. Read from the
    /// node's snapshot, which the bytes-of-state quota bounds.
    /// </summary>
    private static async Task<IResult> ListDocumentPathsAsync(string did, IGrainFactory grains, int? limit, string? cursor)
    {
        var size = PageSize(limit);
        var snapshot = await grains.GetGrain<IExitNodeGrain>(did).GetSnapshotAsync();
        var state = snapshot.State.Parse(Vivim.Protocol.Json.JsonLimits.Snapshot) as JsonObject;
        var paths = DocumentCollections
            .SelectMany(c => state?[c] is JsonObject documents ? documents.Select(d => $"{c}/{d.Key}") : [])
            .Where(p => cursor is null || string.CompareOrdinal(p, cursor) > 0)
            .Order(StringComparer.Ordinal)
            .Take(size + 1)
            .ToList();
        var items = new JsonArray([.. paths.Take(size).Select(p => (JsonNode)new JsonObject { ["path"] = p })]);
        return ApiJson.Object(new JsonObject { ["items"] = items, ["nextCursor"] = paths.Count > size ? paths[size - 1] : null });
    }

    /// <summary>
    /// <c>{items: [{fromSeq, toSeq, updateCount, timestamp, root, authors, commit}], headSeq}</c>: the whole commits
    /// among those overlapping updates <c>after+1 .. after+limit</c> (the events route's commit shape).
    /// </summary>
    private static async Task<IResult> ListCommitsAsync(string did, IGrainFactory grains, long? after, int? limit)
    {
        if (after is < 0)
        {
            throw ApiJson.Bad("after is a seq (0 or more).");
        }

        var page = await grains.GetGrain<IExitNodeGrain>(did).GetUpdatesAsync(after ?? 0, PageSize(limit));
        if (page.ResyncRequired)
        {
            throw new ApiException(StatusCodes.Status410Gone, "resync-required", "Those seqs are no longer retained.");
        }

        var items = new JsonArray([.. ExitNodeEventStream.CommitsOf(page).Select(c => (JsonNode)c)]);
        return ApiJson.Object(new JsonObject { ["items"] = items, ["headSeq"] = page.HeadSeq });
    }

    /// <summary>
    /// The commit that signed <paramref name="root"/> as the head, so that a reader (the console) checks the proof
    /// against a root the node signed rather than the one this answer names; null when the head moved on meanwhile.
    /// </summary>
    private static async Task<Commit?> SignedRootAsync(IExitNodeGrain node, string root)
    {
        var info = await node.GetInfoAsync();
        if (info.HeadSeq == 0 || !string.Equals(info.Root, root, StringComparison.Ordinal))
        {
            return null;
        }

        var page = await node.GetUpdatesAsync(info.HeadSeq - 1, 1);
        return page.ResyncRequired ? null : page.Commits.FirstOrDefault(c => c.ToSeq == info.HeadSeq && string.Equals(c.Root, root, StringComparison.Ordinal));
    }

    private static async Task<IResult> ListClonesAsync(string did, IGrainFactory grains, int? limit, string? cursor)
    {
        var page = await grains.GetGrain<IExitNodeGrain>(did).ListClonesAsync(cursor, PageSize(limit));
        var items = new JsonArray();
        foreach (var c in page.Items)
        {
            items.Add(new JsonObject
            {
                ["cloneId"] = c.CloneId,
                ["did"] = c.Did,
                ["trustLevel"] = JsonSerializer.SerializeToNode(c.TrustLevel, ProtocolModel.Options),
                ["permissions"] = new JsonArray([.. c.Permissions.Select(p => (JsonNode)JsonValue.Create(p))]),
                ["migrationType"] = JsonSerializer.SerializeToNode(c.MigrationType, ProtocolModel.Options),
                ["cursor"] = c.Cursor,
                ["connected"] = c.Connected,
                ["lastSyncAt"] = c.LastSyncAt,
                ["pendingUpdates"] = c.PendingUpdates,
            });
        }

        return ApiJson.Object(new JsonObject { ["items"] = items, ["nextCursor"] = page.NextCursor });
    }

    private static async Task<IResult> ChangeTrustAsync(HttpContext context, string did, string cloneId, IGrainFactory grains, IOptions<GatewayOptions> options, bool suspend)
    {
        var body = await ApiJson.ReadOptionalObjectAsync(context, options.Value.MaxSmallBodyBytes);
        ApiJson.OnlyMembers(body, "reason");
        var reason = ApiJson.String(body, "reason", 500, required: false);
        var node = grains.GetGrain<IExitNodeGrain>(did);
        var proof = suspend ? await node.SuspendCloneAsync(cloneId, reason) : await node.ReinstateCloneAsync(cloneId, reason);
        return ApiJson.Protocol(proof);
    }

    /// <summary><c>{permissions: ["read"] | ["read","write"]}</c>; the clone keeps its trust level.</summary>
    private static async Task<IResult> SetPermissionsAsync(HttpContext context, string did, string cloneId, IGrainFactory grains, IOptions<GatewayOptions> options)
    {
        var body = await ApiJson.ReadObjectAsync(context, options.Value.MaxSmallBodyBytes);
        ApiJson.OnlyMembers(body, "permissions");
        if (body["permissions"] is not JsonArray array || array.Count is < 1 or > 2
            || array.Any(p => p is not JsonValue v || !v.TryGetValue<string>(out _)))
        {
            throw ApiJson.Bad("permissions is [\"read\"] or [\"read\",\"write\"].");
        }

        var permissions = array.Select(p => p!.GetValue<string>()).ToList();
        if (permissions[0] != Permissions.Read || (permissions.Count == 2 && permissions[1] != Permissions.Write))
        {
            throw ApiJson.Bad("permissions is [\"read\"] or [\"read\",\"write\"].");
        }

        return ApiJson.Protocol(await grains.GetGrain<IExitNodeGrain>(did).SetClonePermissionsAsync(cloneId, permissions));
    }

    private static async Task<IResult> RemoveCloneAsync(string did, string cloneId, IGrainFactory grains)
    {
        await grains.GetGrain<IExitNodeGrain>(did).RemoveCloneAsync(cloneId);
        return Results.NoContent();
    }

    internal static int PageSize(int? limit) => limit is null ? DefaultPageSize : limit is >= 1 and <= 500 ? limit.Value : throw ApiJson.Bad("limit is 1..500.");

    /// <summary>An owner update as the API takes it; the node fills in the rest and signs.</summary>
    public sealed record OwnerUpdateRequest(UpdateType Type, UpdateOperation Operation, string Path, RawJson? Data = null, string? UpdateId = null, long? BaseSeq = null);
}
