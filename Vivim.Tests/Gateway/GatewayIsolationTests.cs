using System.Net;
using System.Text.Json.Nodes;
using Vivim.Clones;
using Vivim.ExitNodes;
using Vivim.Security;
using Vivim.Tenants;
using Vivim.Tests.Grains;
using Vivim.Tests.Support;
using static Vivim.Tests.Gateway.GatewayTestKit;

namespace Vivim.Tests.Gateway;

/// <summary>Tenants and clones cannot reach each other's data, at the edge or inside the silo.</summary>
[Collection(GatewayCollection.Name)]
public sealed class GatewayIsolationTests(GatewayFixture gateway)
{
    [Fact]
    public async Task Every_tenant_route_with_another_tenants_key_is_not_found_and_changes_nothing()
    {
        var (_, ownerKey) = await gateway.CreateTenantAsync("owner");
        var (_, intruderKey) = await gateway.CreateTenantAsync("intruder");
        var did = await gateway.CreateExitNodeAsync(ownerKey);
        await WriteAsync(gateway, ownerKey, did, ("memoryIndex/secret", "\"s\""));
        var clone = await RegisterAsync(gateway, did);
        using var owner = gateway.CreateClient(ownerKey);
        await gateway.ServedOnLibp2pAsync(did); // the one change the record makes by itself
        var before = await owner.GetStringAsync($"/v1/exit-nodes/{did}");

        using var intruder = gateway.CreateClient(intruderKey);
        var update = GatewayFixture.Json(new JsonObject { ["updates"] = new JsonArray(new JsonObject { ["type"] = "memory", ["operation"] = "delete", ["path"] = "memoryIndex/secret" }) });
        var attempts = new (HttpMethod Method, string Path, HttpContent? Body)[]
        {
            (HttpMethod.Get, $"/v1/exit-nodes/{did}", null),
            (HttpMethod.Delete, $"/v1/exit-nodes/{did}", null),
            (HttpMethod.Get, $"/v1/exit-nodes/{did}/export", null),
            (HttpMethod.Put, $"/v1/exit-nodes/{did}/advertisement", GatewayFixture.Json(new JsonObject { ["capabilities"] = new JsonArray("x") })),
            (HttpMethod.Post, $"/v1/exit-nodes/{did}/updates", update),
            (HttpMethod.Get, $"/v1/exit-nodes/{did}/documents/memoryIndex/secret", null),
            (HttpMethod.Get, $"/v1/exit-nodes/{did}/clones", null),
            (HttpMethod.Post, $"/v1/exit-nodes/{did}/clones/{clone.CloneId}/suspend", GatewayFixture.Json(new JsonObject())),
            (HttpMethod.Post, $"/v1/exit-nodes/{did}/clones/{clone.CloneId}/reinstate", GatewayFixture.Json(new JsonObject())),
            (HttpMethod.Delete, $"/v1/exit-nodes/{did}/clones/{clone.CloneId}", null),
        };
        foreach (var (method, path, body) in attempts)
        {
            using var request = new HttpRequestMessage(method, path) { Content = body };
            using var response = await intruder.SendAsync(request);
            Assert.True(response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Forbidden, $"{method} {path}: {response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        Assert.Equal(before, await owner.GetStringAsync($"/v1/exit-nodes/{did}"));
        using var http = gateway.CreateClient();
        var (status, _) = await SendAsync(http, gateway.Signed(clone.Key, HttpMethod.Get, $"/v1/clones/{clone.CloneId}/snapshot"));
        Assert.Equal(HttpStatusCode.OK, status); // not suspended, not removed
    }

    [Fact]
    public async Task Every_clone_route_signed_by_another_clone_is_refused_and_changes_nothing()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        var victim = await RegisterAsync(gateway, did);
        var other = await RegisterAsync(gateway, did);
        using var http = gateway.CreateClient();
        var update = new JsonObject { ["updates"] = new JsonArray(JsonNode.Parse(ExitNodeTestKit.SignedUpdate(other.Key, victim.CloneId, "memoryIndex/x", JsonValue.Create(1)))) }.ToJsonString();
        var attempts = new (HttpMethod Method, string Target, string? Body)[]
        {
            (HttpMethod.Get, $"/v1/clones/{victim.CloneId}/snapshot", null),
            (HttpMethod.Get, $"/v1/clones/{victim.CloneId}/updates?after=0", null),
            (HttpMethod.Post, $"/v1/clones/{victim.CloneId}/updates", update),
            (HttpMethod.Post, $"/v1/clones/{victim.CloneId}/ack", """{"seq":0}"""),
            (HttpMethod.Get, $"/v1/clones/{victim.CloneId}/status", null),
            (HttpMethod.Post, $"/v1/clones/{victim.CloneId}/sync-ticket", null),
            (HttpMethod.Delete, $"/v1/clones/{victim.CloneId}", null),
        };
        foreach (var (method, target, body) in attempts)
        {
            var (status, problem) = await SendAsync(http, gateway.Signed(other.Key, method, target, body));
            Assert.True(status == HttpStatusCode.Unauthorized, $"{method} {target}: {status}");
            Assert.Equal("unauthorized", problem!["code"]!.GetValue<string>());
        }

        var (ok, _) = await SendAsync(http, gateway.Signed(victim.Key, HttpMethod.Get, $"/v1/clones/{victim.CloneId}/status"));
        Assert.Equal(HttpStatusCode.OK, ok); // still registered
    }

    [Fact]
    public async Task Inside_the_silo_calls_without_a_valid_principal_or_for_another_owner_are_refused()
    {
        var (tenantId, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        var clone = await RegisterAsync(gateway, did);
        var node = gateway.Grains.GetGrain<IExitNodeGrain>(did);

        // No principal, a forged token, and one MAC'd with another secret: all refused by the filter.
        await Assert.ThrowsAsync<AccessDeniedException>(() => node.GetInfoAsync());
        foreach (var forged in new[] { $"2|{tenantId}|9999999999999|AAAA", new CallPrincipals(new byte[32]).Mint(CallPrincipal.Operator) })
        {
            RequestContext.Set(CallPrincipals.ContextKey, forged);
            try
            {
                await Assert.ThrowsAsync<AccessDeniedException>(() => node.GetInfoAsync());
            }
            finally
            {
                RequestContext.Remove(CallPrincipals.ContextKey);
            }
        }

        // Valid principals, but not the owner's: another tenant, a clone, the public, the gateway service.
        foreach (var principal in new[] { CallPrincipal.ForTenant("tsomeoneelse"), CallPrincipal.ForClone(clone.CloneId), CallPrincipal.Public, CallPrincipal.Service })
        {
            using (gateway.Principals.Enter(principal))
            {
                await Assert.ThrowsAsync<AccessDeniedException>(() => node.WriteAsOwnerAsync([]));
                await Assert.ThrowsAsync<AccessDeniedException>(() => gateway.Grains.GetGrain<ITenantGrain>(tenantId).ListExitNodesAsync(null, 10));
            }
        }

        // A clone may act on itself only, and never create exit nodes around its tenant's quotas.
        using (gateway.Principals.Enter(CallPrincipal.ForClone(clone.CloneId)))
        {
            await Assert.ThrowsAsync<AccessDeniedException>(() => gateway.Grains.GetGrain<ICloneGrain>("someone-else").GetStatusAsync());
            Assert.Equal(did, (await gateway.Grains.GetGrain<ICloneGrain>(clone.CloneId).GetStatusAsync()).Status.ParentDid);
        }

        using (gateway.Principals.Enter(CallPrincipal.ForTenant(tenantId)))
        {
            Assert.Equal(tenantId, (await node.GetInfoAsync()).TenantId);
            await Assert.ThrowsAsync<AccessDeniedException>(() => node.CreateAsync(new ExitNodeSetup(new Vivim.Keys.SecretSeed(new byte[32]), tenantId)));
        }

        // The public may discover and register, nothing else.
        using (gateway.Principals.Enter(CallPrincipal.Public))
        {
            Assert.Equal(did, (await node.GetAdvertisementAsync()).Did);
        }
    }
}
