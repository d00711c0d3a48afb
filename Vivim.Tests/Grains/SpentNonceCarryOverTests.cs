using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Vivim.ExitNodes;
using Vivim.Protocol.Identity;
using Vivim.Storage;
using Vivim.Tests.Support;
using static Vivim.Tests.Grains.ExitNodeTestKit;

namespace Vivim.Tests.Grains;

/// <summary>An exit node whose state still holds spent nonces (written before they had rows) after the upgrade.</summary>
[Collection(ClusterCollection.Name)]
public sealed class SpentNonceCarryOverTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Nonces_in_a_state_from_before_their_table_are_carried_over_still_refused_and_leave_the_state()
    {
        var (_, node, _) = await CreateNodeAsync(fixture.Client);
        var grainId = node.GetGrainId();
        await fixture.Cluster.DeactivateAsync(grainId);

        // The state as the previous build wrote it: a spent nonce within its window and one past it.
        var storage = fixture.State.For(fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<Serializer>());
        var record = new GrainState<ExitNodeState>();
        await storage.ReadStateAsync("exitNode", grainId, record);
        var now = Now;
        record.State!.SpentNonces["recent"] = now - 60_000;
        record.State!.SpentNonces["stale"] = now - 11 * 60_000;
        await storage.WriteStateAsync("exitNode", grainId, record);
        var legacyBytes = fixture.State.SizeOf("exitNode", grainId);

        // The new activation carries them over: the recent one is refused as before, the stale one has expired.
        using var clone = SigningKey.Generate();
        Assert.Equal(DenialReasons.NonceAlreadyUsed, (await node.RegisterAsync(Request(clone, "recent"))).DenialReason);
        Assert.Equal(DenialReasons.ChallengeRequired, (await node.RegisterAsync(Request(clone, "stale"))).DenialReason);

        var scope = NonceScope.Registrations(node.GetPrimaryKeyString());
        Assert.True(await fixture.State.Nonces.IsSpentAsync(scope, "recent", now + 500_000));
        Assert.False(await fixture.State.Nonces.IsSpentAsync(scope, "recent", now + 540_001));
        Assert.False(await fixture.State.Nonces.IsSpentAsync(scope, "stale", now));

        await storage.ReadStateAsync("exitNode", grainId, record);
        Assert.Empty(record.State!.SpentNonces);
        Assert.True(fixture.State.SizeOf("exitNode", grainId) < legacyBytes);

        // And a registration after the upgrade adds nothing to the state for its nonce.
        var registered = await RegisterAsync(node, clone);
        Assert.True(registered.Approved, registered.DenialReason);
        await storage.ReadStateAsync("exitNode", grainId, record);
        Assert.Empty(record.State!.SpentNonces);
    }
}
