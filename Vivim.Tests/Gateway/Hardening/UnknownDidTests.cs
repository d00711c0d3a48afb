using System.Net;
using System.Text.Json.Nodes;
using Vivim.ExitNodes;
using Vivim.Security;
using Vivim.Tenants;
using Vivim.Tests.Support;

namespace Vivim.Tests.Gateway.Hardening;

/// <summary>Requests for DIDs and ids that were never created are answered without keeping grains awake.</summary>
[Collection(GatewayCollection.Name)]
public sealed class UnknownDidTests(GatewayFixture gateway)
{
    [Fact]
    public async Task Requests_for_unknown_dids_are_404_problems_without_activating_exit_nodes()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var hosted = await gateway.CreateExitNodeAsync(apiKey);
        using var anonymous = gateway.CreateClient();
        using var owner = gateway.CreateClient(apiKey);
        using (var touched = await anonymous.GetAsync($"/v1/exit-nodes/{hosted}/advertisement"))
        {
            Assert.Equal(HttpStatusCode.OK, touched.StatusCode);
        }

        var before = await ActivationsAsync("ExitNodeGrain");
        Assert.True(before > 0, "the count must see the hosted exit node's activation, or it proves nothing");

        for (var i = 0; i < 200; i++)
        {
            var unknown = "did:key:z6Mk" + Guid.NewGuid().ToString("N");
            using var advertisement = await anonymous.GetAsync($"/v1/exit-nodes/{unknown}/advertisement");
            Assert.Equal(HttpStatusCode.NotFound, advertisement.StatusCode);
            Assert.Equal("not-found", JsonNode.Parse(await advertisement.Content.ReadAsStringAsync())!["code"]!.GetValue<string>());
            using var node = await owner.GetAsync($"/v1/exit-nodes/{unknown}");
            Assert.Equal(HttpStatusCode.NotFound, node.StatusCode);
        }

        // Nothing was activated for them (other tests' nodes may come and go, hence the margin, far below 400).
        Assert.True(await ActivationsAsync("ExitNodeGrain") <= before + 20, "unknown DIDs activated exit node grains");

        // A hosted DID still answers, from this gateway's cache or the directory.
        using var known = await anonymous.GetAsync($"/v1/exit-nodes/{hosted}/advertisement");
        Assert.Equal(HttpStatusCode.OK, known.StatusCode);
    }

    [Fact]
    public async Task A_grain_woken_for_an_id_never_created_ends_its_activation_after_the_call()
    {
        var unknown = "did:key:z6Mk" + Guid.NewGuid().ToString("N");
        using (gateway.Principals.Enter(CallPrincipal.Public))
        {
            await Assert.ThrowsAsync<NotHostedException>(() => gateway.Grains.GetGrain<IExitNodeGrain>(unknown).GetAdvertisementAsync());
        }

        await Until.TrueAsync(async () => !await IsActiveAsync(gateway.Grains.GetGrain<IExitNodeGrain>(unknown).GetGrainId()), () => $"the activation of {unknown} lived on");

        // So does a tenant's, woken by a made-up API key, and a clone's, woken by a request for a guessed clone id.
        var tenantId = "t" + Guid.NewGuid().ToString("N")[..12];
        using var anonymous = gateway.CreateClient($"vk.{tenantId}.k1.{new string('s', 43)}");
        using (var response = await anonymous.GetAsync("/v1/exit-nodes"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        await Until.TrueAsync(async () => !await IsActiveAsync(gateway.Grains.GetGrain<ITenantGrain>(tenantId).GetGrainId()), () => $"the activation of tenant {tenantId} lived on");

        var cloneId = "c" + Guid.NewGuid().ToString("N");
        using (var response = await gateway.CreateClient().SendAsync(gateway.Signed(Vivim.Protocol.Identity.SigningKey.Generate(), HttpMethod.Get, $"/v1/clones/{cloneId}/status")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        await Until.TrueAsync(async () => !await IsActiveAsync(gateway.Grains.GetGrain<Vivim.Clones.ICloneGrain>(cloneId).GetGrainId()), () => $"the activation of clone {cloneId} lived on");
    }

    private async Task<int> ActivationsAsync(string grainClass)
    {
        using (gateway.Principals.Enter(CallPrincipal.Operator))
        {
            var stats = await gateway.Grains.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics();
            return stats.Where(s => s.GrainType.Contains(grainClass, StringComparison.Ordinal)).Sum(s => s.ActivationCount);
        }
    }

    private async Task<bool> IsActiveAsync(GrainId grainId)
    {
        using (gateway.Principals.Enter(CallPrincipal.Operator))
        {
            var management = gateway.Grains.GetGrain<IManagementGrain>(0);
            var stats = await management.GetDetailedGrainStatistics();
            return stats.Any(s => s.GrainId == grainId);
        }
    }
}
