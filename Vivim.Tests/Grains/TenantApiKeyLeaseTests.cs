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

    // Timers fire early, as the system's do (they count whole milliseconds of a coarse tick): the revocation must still
    // not return before its whole lease has passed on the clock the gateways count leases on.
    private static readonly TimeSpan TimerEarliness = TimeSpan.FromMilliseconds(5);

    private readonly FakeTimeProvider _clock = SiloClock.StartNow();
    private readonly EarlyTimers _timers;
    private InProcessTestCluster _cluster = null!;

    public TenantApiKeyLeaseTests() => _timers = new EarlyTimers(_clock, TimerEarliness);

    private IClusterClient Client => _cluster.Client;

    public async Task InitializeAsync() => _cluster = await ClusterFixture.StartOwnAsync(
        new Dictionary<string, string?> { ["Vivim:Tenants:ApiKeyLease"] = Lease.ToString() },
        silo => silo.UseClock(_timers));

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

    [Fact]
    public async Task A_revocation_does_not_return_before_its_whole_lease_even_when_timers_fire_early()
    {
        var tenant = Client.GetGrain<ITenantGrain>(ApiKeyFormat.NewTenantId());
        var key = Parse((await tenant.CreateAsync("lease", null)).ApiKey);
        var revoke = tenant.RevokeApiKeyAsync(key.KeyId);
        await Until.TrueAsync(async () => await tenant.VerifyApiKeyAsync(key.KeyId, key.Hash) is null, () => "the revoked key is still accepted");

        // Past the moment the first timer fires (the lease less the earliness), short of the lease itself: the revocation
        // must wait again (a short timer) rather than return.
        var asked = _timers.Requested.Count;
        _clock.Advance(Lease - TimerEarliness + TimeSpan.FromMilliseconds(1));
        await Until.TrueAsync(() => revoke.IsCompleted || _timers.Requested.Skip(asked).Any(due => due > TimeSpan.Zero && due <= TimerEarliness * 2), () => "the revocation neither returned nor waited again");
        Assert.False(revoke.IsCompleted, "the revocation returned before its lease had passed");

        _clock.Advance(TimerEarliness);
        await revoke.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private static (string KeyId, byte[] Hash) Parse(string apiKey)
    {
        Assert.True(ApiKeyFormat.TryParse(apiKey, out _, out var keyId, out var secret));
        return (keyId, ApiKeyFormat.HashSecret(secret));
    }

    /// <summary>The test's clock, whose timers fire <c>earliness</c> before their due time (at most half of it).</summary>
    private sealed class EarlyTimers(TimeProvider inner, TimeSpan earliness) : TimeProvider
    {
        public override long TimestampFrequency => inner.TimestampFrequency;

        public override TimeZoneInfo LocalTimeZone => inner.LocalTimeZone;

        public override long GetTimestamp() => inner.GetTimestamp();

        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

        /// <summary>The due times asked for, in order.</summary>
        public System.Collections.Concurrent.ConcurrentQueue<TimeSpan> Requested { get; } = new();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Requested.Enqueue(dueTime);
            return inner.CreateTimer(callback, state, dueTime <= TimeSpan.Zero ? dueTime : dueTime - TimeSpan.FromTicks(Math.Min(earliness.Ticks, dueTime.Ticks / 2)), period);
        }
    }
}
