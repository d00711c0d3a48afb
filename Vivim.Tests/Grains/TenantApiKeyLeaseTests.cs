using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;
using Vivim.Tenants;
using Vivim.Tests.Support;

namespace Vivim.Tests.Grains;

/// <summary>
/// A tenant grants API keys for a lease that gateways may answer from, so a revocation is not done until that lease has
/// run out since the key was removed. On a cluster of its own whose clock the test advances (<see cref="SiloClock"/>).
/// </summary>
public sealed class TenantApiKeyLeaseTests : IAsyncLifetime
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _clock = SiloClock.StartNow();
    private InProcessTestCluster _cluster = null!;

    private IClusterClient Client => _cluster.Client;

    public async Task InitializeAsync() => _cluster = await ClusterFixture.StartOwnAsync(
        new Dictionary<string, string?> { ["Vivim:Tenants:ApiKeyLease"] = Lease.ToString() },
        silo => silo.UseClock(_clock));

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Revoking_a_key_refuses_it_at_once_but_returns_only_after_its_lease_while_other_keys_are_still_checked()
    {
        var tenant = Client.GetGrain<ITenantGrain>(ApiKeyFormat.NewTenantId());
        var first = Parse((await tenant.CreateAsync("lease", null)).ApiKey);
        var second = Parse((await tenant.CreateApiKeyAsync()).ApiKey);

        var grant = await tenant.VerifyApiKeyAsync(first.KeyId, first.Hash);
        Assert.NotNull(grant);
        Assert.Equal(Lease, grant.Lease);

        var revoke = tenant.RevokeApiKeyAsync(first.KeyId);

        // Once the key is removed the revocation waits out the lease; checks run meanwhile, and refuse the revoked key.
        await Until.TrueAsync(async () => await tenant.VerifyApiKeyAsync(first.KeyId, first.Hash) is null, () => "the revoked key is still accepted");
        Assert.Equal(grant.TenantId, (await tenant.VerifyApiKeyAsync(second.KeyId, second.Hash))?.TenantId);
        Assert.False(revoke.IsCompleted);

        _clock.Advance(Lease / 2);
        Assert.Null(await tenant.VerifyApiKeyAsync(first.KeyId, first.Hash));
        Assert.False(revoke.IsCompleted);

        _clock.Advance(Lease / 2);
        await revoke.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Null(await tenant.VerifyApiKeyAsync(first.KeyId, first.Hash));
        Assert.NotNull(await tenant.VerifyApiKeyAsync(second.KeyId, second.Hash));
    }

    [Fact]
    public async Task Deleting_a_tenant_returns_only_after_the_lease_of_its_keys()
    {
        var tenant = Client.GetGrain<ITenantGrain>(ApiKeyFormat.NewTenantId());
        var key = Parse((await tenant.CreateAsync("lease", null)).ApiKey);
        Assert.NotNull(await tenant.VerifyApiKeyAsync(key.KeyId, key.Hash));

        var delete = tenant.DeleteAsync();
        await Until.TrueAsync(async () => await tenant.VerifyApiKeyAsync(key.KeyId, key.Hash) is null, () => "the deleted tenant's key is still accepted");
        Assert.False(delete.IsCompleted);

        _clock.Advance(Lease);
        await delete.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private static (string KeyId, byte[] Hash) Parse(string apiKey)
    {
        Assert.True(ApiKeyFormat.TryParse(apiKey, out _, out var keyId, out var secret));
        return (keyId, ApiKeyFormat.HashSecret(secret));
    }
}
