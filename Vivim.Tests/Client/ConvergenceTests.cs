using System.Collections.Concurrent;
using Vivim.Anchors;
using Vivim.Client.Sync;
using Vivim.Client.Transports;
using Vivim.Clones;
using Vivim.ExitNodes;
using Vivim.Keys;
using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;
using Vivim.Tests.Grains;
using Vivim.Tests.Support;

namespace Vivim.Tests.Client;

/// <summary>Registered clones that sync while others write end at the anchor's root, with every update applied once.</summary>
internal sealed class SyncingClone : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, int> _applied = new(StringComparer.Ordinal);

    private SyncingClone(SigningKey key, string cloneId, SyncProtocol protocol, OrleansSyncTransport transport)
    {
        Key = key;
        CloneId = cloneId;
        Protocol = protocol;
        Writer = new CloneWriter(transport, key, cloneId);
        protocol.UpdateApplied += (_, e) =>
        {
            if (e.Success)
            {
                _applied.AddOrUpdate(e.Update.UpdateId, 1, (_, n) => n + 1);
            }
        };
    }

    public SigningKey Key { get; }

    public string CloneId { get; }

    public SyncProtocol Protocol { get; }

    public CloneWriter Writer { get; }

    public IReadOnlyDictionary<string, int> Applied => _applied;

    public static async Task<SyncingClone> RegisterAndStartAsync(IClusterClient client, IExitNodeGrain node, string parentDid)
    {
        var key = SigningKey.Generate();
        var response = await ExitNodeTestKit.RegisterAsync(node, key);
        Assert.True(response.Approved, response.DenialReason);
        var transport = new OrleansSyncTransport(client, response.CloneId);
        var protocol = new SyncProtocol(parentDid, new SyncConfig(SyncInterval: 1000), transport, new SyncOptions { ReconcileInterval = TimeSpan.FromMilliseconds(500) });
        var clone = new SyncingClone(key, response.CloneId, protocol, transport);
        await protocol.LoadSnapshotAsync(response.InitialState!);
        await protocol.StartAsync();
        return clone;
    }

    public Task WaitForAsync(AnchorHead head, TimeSpan? within = null) =>
        Until.TrueAsync(() => Protocol.Replica.Cursor >= head.Seq, () => $"clone {CloneId} stuck at {Protocol.Replica.Cursor} of {head.Seq}", within);

    public async ValueTask DisposeAsync()
    {
        await Protocol.DisposeAsync();
        Key.Dispose();
    }
}

[Collection(ClusterCollection.Name)]
public sealed class ConcurrentWritersConvergenceTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Eight_writers_times_500_updates_and_every_clone_ends_at_the_anchors_root()
    {
        using var parent = SigningKey.Generate();
        var node = fixture.Client.GetGrain<IExitNodeGrain>(parent.Did.Value);
        await node.CreateAsync(new ExitNodeSetup(new SecretSeed(parent.ExportSeed()), "tenant-convergence", DefaultPermissions: [Permissions.Read, Permissions.Write]));

        var clones = new List<SyncingClone>();
        for (var i = 0; i < 7; i++)
        {
            clones.Add(await SyncingClone.RegisterAndStartAsync(fixture.Client, node, parent.Did.Value));
        }

        const int PerWriter = 500, Batch = 25;
        var writers = new List<Func<int, Task>>
        {
            start => node.WriteAsOwnerAsync(Enumerable.Range(start, Batch)
                .Select(i => new OwnerUpdate(UpdateType.Memory, UpdateOperation.Create, $"memoryIndex/owner/{i}", new RawJson($$"""{"i":{{i}}}""")))
                .ToList()).ContinueWith(t => Assert.Equal(SubmitOutcome.Committed, t.Result.Outcome), TaskScheduler.Default),
        };
        writers.AddRange(clones.Select((c, ci) => (Func<int, Task>)(async start =>
        {
            for (var i = start; i < start + Batch; i++)
            {
                var result = await c.Writer.SubmitAsync(UpdateType.Memory, UpdateOperation.Create, $"memoryIndex/clone{ci}/{i}", new RawJson($$"""{"i":{{i}}}"""));
                Assert.Equal(SubmitOutcome.Committed, result.Outcome);
            }
        })));

        await Task.WhenAll(writers.Select(write => Task.Run(async () =>
        {
            for (var start = 0; start < PerWriter; start += Batch)
            {
                await write(start);
            }
        })));

        var anchor = fixture.Client.GetGrain<IAnchorStateGrain>(parent.Did.Value);
        var head = await anchor.GetHeadAsync();
        Assert.Equal(8 * PerWriter, head.Seq);
        foreach (var clone in clones)
        {
            await clone.WaitForAsync(head);
            Assert.Equal(head.Root, clone.Protocol.Replica.Root);
            Assert.Equal(8 * PerWriter, clone.Applied.Count);
            Assert.All(clone.Applied.Values, n => Assert.Equal(1, n));
            await clone.DisposeAsync();
        }
    }
}

/// <summary>Faults need their own cluster.</summary>
public sealed class FaultConvergenceTests : IAsyncLifetime
{
    private FaultCluster _faults = null!;

    public async Task InitializeAsync() => _faults = await FaultCluster.StartAsync();

    public async Task DisposeAsync() => await _faults.DisposeAsync();

    [Fact]
    public async Task Clones_converge_with_nothing_lost_or_applied_twice_when_silos_die_and_grains_deactivate_mid_stream()
    {
        using var parent = SigningKey.Generate();
        var node = _faults.Client.GetGrain<IExitNodeGrain>(parent.Did.Value);
        await node.CreateAsync(new ExitNodeSetup(new SecretSeed(parent.ExportSeed()), "tenant-faults"));
        var clones = new List<SyncingClone>();
        for (var i = 0; i < 3; i++)
        {
            clones.Add(await SyncingClone.RegisterAndStartAsync(_faults.Client, node, parent.Did.Value));
        }

        var anchor = _faults.Client.GetGrain<IAnchorStateGrain>(parent.Did.Value);
        for (var b = 0; b < 60; b++)
        {
            switch (b)
            {
                case 15:
                    await _faults.KillHostOfAsync(anchor);
                    break;
                case 30:
                    await _faults.Cluster.DeactivateAsync(anchor);
                    foreach (var clone in clones)
                    {
                        await _faults.Cluster.DeactivateAsync(_faults.Client.GetGrain<ICloneGrain>(clone.CloneId));
                    }

                    break;
                case 45:
                    await _faults.KillHostOfAsync(anchor);
                    break;
            }

            // The owner retries a batch until acknowledged; the update ids make retries idempotent.
            var batch = Enumerable.Range(0, 10).Select(i => new OwnerUpdate(UpdateType.Node, UpdateOperation.Create, $"nodes/b{b}-{i}", new RawJson($$"""{"b":{{b}}}"""), UpdateId: $"b{b}-{i}")).ToList();
            // Until the cluster has declared a killed silo dead, which takes longer on a loaded machine.
            var retryUntil = DateTime.UtcNow + Until.Patience;
            while (true)
            {
                try
                {
                    Assert.Equal(SubmitOutcome.Committed, (await node.WriteAsOwnerAsync(batch)).Outcome);
                    break;
                }
                catch (Exception) when (DateTime.UtcNow < retryUntil)
                {
                    await Task.Delay(250);
                }
            }
        }

        var head = await FaultCluster.RetriedAsync(anchor.GetHeadAsync);
        Assert.Equal(600, head.Seq);
        foreach (var clone in clones)
        {
            await clone.WaitForAsync(head);
            Assert.Equal(head.Root, clone.Protocol.Replica.Root);
            Assert.Equal(600, clone.Applied.Count);
            Assert.All(clone.Applied.Values, n => Assert.Equal(1, n));
            await clone.DisposeAsync();
        }
    }
}
