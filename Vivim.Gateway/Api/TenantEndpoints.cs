using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Vivim.Gateway.Auth;
using Vivim.Gateway.Hosting;
using Vivim.Protocol.Model;
using Vivim.Tenants;

namespace Vivim.Gateway.Api;

/// <summary>Tenants (operator) and a tenant's own API keys.</summary>
public static class TenantEndpoints
{
    public static void MapTenantEndpoints(this IEndpointRouteBuilder v1, ApiAuthentication auth)
    {
        var byOperator = v1.MapGroup("/tenants").AddEndpointFilter(auth.OperatorAsync).WithTags("Tenants");
        byOperator.MapPost("/", CreateAsync).WithName("createTenant").WithSummary("Creates a tenant (operator key)");
        byOperator.MapDelete("/{tenantId}", DeleteAsync).WithName("deleteTenant").WithSummary("Deletes a tenant with its exit nodes, clones and data (operator key)");

        var self = v1.MapGroup("/tenants/self").AddEndpointFilter(auth.TenantAsync).WithTags("Tenants");
        self.MapGet("", SelfAsync).WithName("getTenantSelf").WithSummary("The tenant's quotas and what it uses of them");
        self.MapPost("/api-keys", CreateKeyAsync).WithName("createApiKey").WithSummary("Creates another API key");
        self.MapDelete("/api-keys/{keyId}", RevokeKeyAsync).WithName("revokeApiKey").WithSummary("Revokes an API key");
    }

    private static async Task<IResult> CreateAsync(HttpContext context, IGrainFactory grains, IOptions<GatewayOptions> options)
    {
        var body = await ApiJson.ReadObjectAsync(context, options.Value.MaxSmallBodyBytes);
        ApiJson.OnlyMembers(body, "name", "quotas");
        var name = ApiJson.String(body, "name", 200, required: true)!;
        var quotas = body["quotas"] is JsonObject q ? ApiJson.Read<TenantQuotas>((JsonObject)q.DeepClone()) : body["quotas"] is null ? null : throw ApiJson.Bad("'quotas' must be an object.");
        var tenantId = ApiKeyFormat.NewTenantId();
        var key = await grains.GetGrain<ITenantGrain>(tenantId).CreateAsync(name, quotas);
        return Results.Json(new { tenantId = key.TenantId, apiKey = key.ApiKey, keyId = key.KeyId }, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> DeleteAsync(string tenantId, IGrainFactory grains)
    {
        if (!ApiKeyFormat.IsId(tenantId))
        {
            return ApiProblem.NotFound($"No tenant {tenantId}.");
        }

        await grains.GetGrain<ITenantGrain>(tenantId).DeleteAsync();
        return Results.NoContent();
    }

    /// <summary>
    /// The tenant, its effective quotas and its usage: exit nodes, clones and bytes of state over them (the largest
    /// node's too, since the state quota is per node). The node count is bounded by the quota, so listing is cheap.
    /// </summary>
    private static async Task<IResult> SelfAsync(HttpContext context, IGrainFactory grains)
    {
        var tenant = grains.GetGrain<ITenantGrain>(ApiAuthentication.Tenant(context).TenantId);
        var info = await tenant.GetAsync();
        var (nodes, clones, bytes, largest) = (0, 0L, 0L, 0L);
        string? cursor = null;
        do
        {
            var page = await tenant.ListExitNodesAsync(cursor, 500);
            foreach (var node in page.Items)
            {
                (nodes, clones, bytes, largest) = (nodes + 1, clones + node.CloneCount, bytes + node.StateBytes, Math.Max(largest, node.StateBytes));
            }

            cursor = page.NextCursor;
        }
        while (cursor is not null);

        var q = info.Quotas;
        return ApiJson.Object(new JsonObject
        {
            ["tenantId"] = info.TenantId,
            ["name"] = info.Name,
            ["createdAt"] = info.CreatedAt,
            ["apiKeyIds"] = new JsonArray([.. info.KeyIds.Select(k => (JsonNode)JsonValue.Create(k)!)]),
            ["quotas"] = new JsonObject
            {
                ["maxExitNodes"] = q.MaxExitNodes,
                ["maxClonesPerExitNode"] = q.MaxClonesPerExitNode,
                ["updatesPerSecond"] = q.UpdatesPerSecond,
                ["requestsPerSecond"] = q.RequestsPerSecond,
                ["maxStateBytesPerExitNode"] = q.MaxStateBytesPerExitNode,
            },
            ["usage"] = new JsonObject
            {
                ["exitNodes"] = nodes,
                ["clones"] = clones,
                ["stateBytes"] = bytes,
                ["largestExitNodeStateBytes"] = largest,
            },
        });
    }

    private static async Task<IResult> CreateKeyAsync(HttpContext context, IGrainFactory grains)
    {
        var key = await grains.GetGrain<ITenantGrain>(ApiAuthentication.Tenant(context).TenantId).CreateApiKeyAsync();
        return Results.Json(new { apiKey = key.ApiKey, keyId = key.KeyId }, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> RevokeKeyAsync(HttpContext context, string keyId, IGrainFactory grains)
    {
        await grains.GetGrain<ITenantGrain>(ApiAuthentication.Tenant(context).TenantId).RevokeApiKeyAsync(keyId);
        return Results.NoContent();
    }
}
