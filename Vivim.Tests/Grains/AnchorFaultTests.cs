using System.Text.Json.Nodes;
using Orleans.TestingHost;
using Vivim.Anchors;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Merkle;
using Vivim.Protocol.State;
using Vivim.Storage;
using Vivim.Tests.Support;

namespace Vivim.Tests.Grains;

/// <summary>Faults get their own cluster: killing silos would disturb the shared one.</summary>
public sealed class AnchorFaultTests : IAsyncLifetime
{
    private readonly InMemoryUpdateLog _log = new();
    private readonly SharedMemoryGrainStorage _state = new();
    private InProcessTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(3);
        builder.ConfigureSilo((_, silo) => ClusterFixture.ConfigureSilo(silo, _log, _state));
        builder.ConfigureClient(client => client.AddMemoryStreams(AnchorStreams.Provider));
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Killing_the_silo_that_hosts_an_anchor_loses_nothing_acknowledged_and_applies_nothing_twice()
    {
        using var parent = SigningKey.Generate();
        var anchor = _cluster.Client.GetGrain<IAnchorStateGrain>(parent.Did.Value);
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
                await KillTheAnchorsSiloAsync(anchor);
                killed++;
            }

            // A writer retries a batch until it is acknowledged; retries must be idempotent.
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    var result = await anchor.SubmitAsync(batches[b]);
                    Assert.Equal(SubmitOutcome.Committed, result.Outcome);
                    acknowledged.AddRange(result.Receipts);
                    break;
                }
                catch (Exception) when (attempt < 20)
                {
                    await Task.Delay(250);
                }
            }
        }

        var head = await anchor.GetHeadAsync();
        Assert.Equal(1200, head.Seq);
        Assert.Equal(Enumerable.Range(1, 1200).Select(i => (long)i), acknowledged.Select(r => r.Seq).Order());

        var tree = new SparseMerkleTree();
        var page = await anchor.GetUpdatesAsync(0, 1000);
        var rest = await anchor.GetUpdatesAsync(1000, 1000);
        var updates = page.Updates.Concat(rest.Updates).ToList();
        Assert.Equal(1200, updates.Select(u => u.UpdateId).Distinct().Count());
        foreach (var update in updates)
        {
            tree.Set(update.Path, StateRules.DocumentValue(update.Data));
        }

        Assert.Equal(head.Root, tree.RootHex);
        Assert.Equal(2, killed);
        Assert.Single(_cluster.Silos);
    }

    /// <summary>Kills the silo hosting the anchor; if it sits on the primary (which the test cluster keeps), moves it first.</summary>
    private async Task KillTheAnchorsSiloAsync(IAnchorStateGrain anchor)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            await anchor.GetHeadAsync();
            Assert.True(_cluster.TryGetGrainContext(anchor.GetGrainId(), out var context));
            var host = _cluster.Silos.Single(s => s.SiloAddress.Equals(context!.Address.SiloAddress));
            if (host != _cluster.Silos[0])
            {
                await _cluster.KillSiloAsync(host);
                return;
            }

            await _cluster.DeactivateAsync(anchor);
        }

        Assert.Fail("The anchor never left the primary silo.");
    }
}
