using System.Text.Json.Nodes;
using Vivim.Anchors;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Merkle;
using Vivim.Protocol.State;
using Vivim.Protocol.Sync;
using Vivim.Tests.Support;

namespace Vivim.Tests.Grains;

/// <summary>Faults get their own cluster: killing silos would disturb the shared one.</summary>
public sealed class AnchorFaultTests : IAsyncLifetime
{
    private FaultCluster _faults = null!;

    public async Task InitializeAsync() => _faults = await FaultCluster.StartAsync();

    public async Task DisposeAsync() => await _faults.DisposeAsync();

    [Fact]
    public async Task Killing_the_silo_that_hosts_an_anchor_loses_nothing_acknowledged_and_applies_nothing_twice()
    {
        using var parent = SigningKey.Generate();
        var anchor = _faults.Client.GetGrain<IAnchorStateGrain>(parent.Did.Value);
        await anchor.InitializeAsync(new AnchorSetup(SignedUpdates.TestVault.Seal(parent.ExportSeed(), parent.Did.Value)));

        var batches = Enumerable.Range(0, 60)
            .Select(b => Enumerable.Range(0, 20).Select(i => SignedUpdates.Create(parent, $"nodes/b{b}-{i}", new JsonObject { ["b"] = b, ["i"] = i })).ToList())
            .ToList();
        var acknowledged = new List<UpdateReceipt>();
        var killed = 0;
        for (var b = 0; b < batches.Count; b++)
        {
            if (b == 20 || b == 40)
            {
                await _faults.KillHostOfAsync(anchor);
                killed++;
            }

            // A writer retries a batch until it is acknowledged (the cluster declares a killed silo dead later on a
            // loaded machine); retries must be idempotent.
            var retryUntil = DateTime.UtcNow + Until.Patience;
            while (true)
            {
                try
                {
                    var result = await anchor.SubmitAsync(batches[b]);
                    Assert.Equal(SubmitOutcome.Committed, result.Outcome);
                    acknowledged.AddRange(result.Receipts);
                    break;
                }
                catch (Exception) when (DateTime.UtcNow < retryUntil)
                {
                    await Task.Delay(250);
                }
            }
        }

        var head = await FaultCluster.RetriedAsync(anchor.GetHeadAsync);
        Assert.Equal(1200, head.Seq);
        Assert.Equal(Enumerable.Range(1, 1200).Select(i => (long)i), acknowledged.Select(r => r.Seq).Order());

        var tree = new SparseMerkleTree();
        var page = (await FaultCluster.RetriedAsync(() => anchor.GetUpdatesAsync(0, 1000))).Parse();
        var rest = (await FaultCluster.RetriedAsync(() => anchor.GetUpdatesAsync(1000, 1000))).Parse();
        var updates = page.Updates.Concat(rest.Updates).ToList();
        Assert.Equal(1200, updates.Select(u => u.UpdateId).Distinct().Count());
        foreach (var update in updates)
        {
            tree.Set(update.Path, StateRules.DocumentValue(update.Data));
        }

        Assert.Equal(head.Root, tree.RootHex);
        Assert.Equal(2, killed);
        Assert.Single(_faults.Cluster.Silos);
    }
}
