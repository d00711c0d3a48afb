using Vivim.Anchors;
using Vivim.Clones;
using Vivim.Security;
using Vivim.Tests.Support;
using static Vivim.Tests.Gateway.GatewayTestKit;

namespace Vivim.Tests.Gateway;

/// <summary>
/// A gateway's sessions pass cursors on with the root they delivered, and the Clone grain takes them without asking the
/// anchor; only the gateway may do that, and a clone's own ack still cannot set its root.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class DeliveredAcknowledgementTests(GatewayFixture gateway)
{
    [Fact]
    public async Task Only_the_gateway_acknowledges_with_a_root_and_a_clone_s_claimed_root_is_ignored()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        var clone = await RegisterAsync(gateway, did);
        var initial = clone.Snapshot.Seq ?? 0;
        await WriteAsync(gateway, apiKey, did, ("memoryIndex/a", "1"));
        await WriteAsync(gateway, apiKey, did, ("memoryIndex/b", "2"));
        var head = await WriteAsync(gateway, apiKey, did, ("memoryIndex/c", "3"));
        var roots = await RootsAsync(did, initial);
        var grain = gateway.Grains.GetGrain<ICloneGrain>(clone.CloneId);
        const string Forged = "0000000000000000000000000000000000000000000000000000000000000000";

        // The clone itself (through the Orleans transport it may call the grain directly) and the public may not use
        // the gateway's path, with a forged root or the true one.
        foreach (var principal in new[] { CallPrincipal.ForClone(clone.CloneId), CallPrincipal.Public, CallPrincipal.ForTenant("tsomeone") })
        {
            using (gateway.Principals.Enter(principal))
            {
                await Assert.ThrowsAsync<AccessDeniedException>(() => grain.AcknowledgeDeliveredAsync(head, Forged));
                await Assert.ThrowsAsync<AccessDeniedException>(() => grain.AcknowledgeDeliveredAsync(head - 1, roots[head - 1]));
            }
        }

        await Assert.ThrowsAsync<AccessDeniedException>(() => grain.AcknowledgeDeliveredAsync(head, Forged)); // no principal at all

        using (gateway.Principals.Enter(CallPrincipal.ForClone(clone.CloneId)))
        {
            Assert.Equal(initial, (await grain.GetProgressAsync()).Cursor);

            // The clone's own ack behind the head, claiming a root: the cursor moves, the root is the anchor's.
            await grain.AcknowledgeAsync(initial + 1, Forged);
            var own = await grain.GetStatusAsync();
            Assert.Equal((initial + 1, roots[initial + 1]), (own.Cursor, own.Status.StateHash));
        }

        using (gateway.Principals.Enter(CallPrincipal.Service))
        {
            // The gateway's: seq and root as delivered; never backwards; a root of absurd length is refused.
            await grain.AcknowledgeDeliveredAsync(initial + 2, roots[initial + 2]);
            await grain.AcknowledgeDeliveredAsync(initial + 1, Forged);
            await Assert.ThrowsAsync<ArgumentException>(() => grain.AcknowledgeDeliveredAsync(head, new string('a', 129)));
            await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => grain.AcknowledgeDeliveredAsync(-1, string.Empty));
        }

        using (gateway.Principals.Enter(CallPrincipal.ForClone(clone.CloneId)))
        {
            var status = await grain.GetStatusAsync();
            Assert.Equal((initial + 2, roots[initial + 2], head - initial - 2), (status.Cursor, status.Status.StateHash, status.Status.PendingUpdates));
            Assert.True(status.Status.LastSyncAt > 0);
        }

        // A delivered ack without a root (the session had none for that seq): the status finds it in the log.
        using (gateway.Principals.Enter(CallPrincipal.Service))
        {
            await grain.AcknowledgeDeliveredAsync(head, string.Empty);
        }

        using (gateway.Principals.Enter(CallPrincipal.ForClone(clone.CloneId)))
        {
            var status = await grain.GetStatusAsync();
            Assert.Equal((head, roots[head], 0L), (status.Cursor, status.Status.StateHash, status.Status.PendingUpdates));
        }
    }

    /// <summary>The anchor's root after each seq past <paramref name="after"/>, from its signed commits.</summary>
    private async Task<Dictionary<long, string>> RootsAsync(string did, long after)
    {
        using (gateway.Principals.Enter(CallPrincipal.Operator))
        {
            var page = await gateway.Grains.GetGrain<IAnchorStateGrain>(did).GetUpdatesAsync(after, 100);
            var roots = new Dictionary<long, string>();
            foreach (var commit in page.Commits)
            {
                for (var seq = commit.FromSeq; seq <= commit.ToSeq; seq++)
                {
                    roots[seq] = commit.Roots[(int)(seq - commit.FromSeq)];
                }
            }

            Assert.Equal(3, roots.Keys.Count(k => k > after));
            return roots;
        }
    }
}
