using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Vivim.Tests.Support;

namespace Vivim.Tests.Gateway;

/// <summary>
/// A gateway answers a tenant's API key from the grant it was given for the grant's lease, instead of asking the tenant
/// on every request; only for the exact secret that was accepted.
/// </summary>
public sealed class ApiKeyLeaseGatewayTests : IAsyncLifetime
{
    private readonly FinishedGrainCalls _calls = new();
    private readonly GatewayFixture _gateway;

    public ApiKeyLeaseGatewayTests()
    {
        _gateway = new GatewayFixture
        {
            // Long enough that no grant runs out during the test, however slow the machine.
            ExtraArguments = ["--Vivim:Tenants:ApiKeyLease=00:05:00"],
            Configure = builder => builder.Services.AddSingleton<IIncomingGrainCallFilter>(_calls),
        };
    }

    public Task InitializeAsync() => _gateway.InitializeAsync();

    public Task DisposeAsync() => _gateway.DisposeAsync();

    [Fact]
    public async Task Requests_within_a_grant_s_lease_do_not_ask_the_tenant_and_another_secret_is_still_refused()
    {
        var (_, apiKey) = await _gateway.CreateTenantAsync();
        var did = await _gateway.CreateExitNodeAsync(apiKey);
        var asked = _calls.Count("VerifyApiKeyAsync");
        Assert.True(asked >= 1, "creating the exit node checked the key with the tenant");

        using var client = _gateway.CreateClient(apiKey);
        for (var i = 0; i < 20; i++)
        {
            using var read = await client.GetAsync($"/v1/exit-nodes/{did}");
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        }

        Assert.Equal(asked, _calls.Count("VerifyApiKeyAsync"));

        // Same tenant and key id, another secret: not the grant's secret, so the tenant is asked and refuses it.
        var forged = apiKey[..apiKey.LastIndexOf('.')] + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        using var wrong = _gateway.CreateClient(forged);
        using (var refused = await wrong.GetAsync($"/v1/exit-nodes/{did}"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        Assert.Equal(asked + 1, _calls.Count("VerifyApiKeyAsync"));
    }
}
