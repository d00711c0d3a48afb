using Orleans.Runtime;
using Vivim.Anchors;
using Vivim.ExitNodes;
using Vivim.Keys;
using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;
using Vivim.Tests.Client;

using Vivim.Tests.Support;

namespace Vivim.Tests.Durability;

/// <summary>
/// Two Vivim.Silo workers and one Vivim.Gateway as separate processes on shared storage: clones sync while owners
/// write, the silo hosting the busiest anchor is SIGKILLed, and everyone ends at the anchor's root.
/// </summary>
public abstract class ClusterProcessTests
{
    /// <summary>A cluster on storage of this test's own.</summary>
    protected abstract ClusterProcesses CreateCluster();

    [Fact]
    public async Task Clones_converge_when_the_silo_hosting_the_busiest_anchor_is_killed()
    {
        await using var cluster = CreateCluster();
        var (code, output) = await cluster.MigrateAsync();
        Assert.True(code == 0, output);

        var members = new[] { cluster.StartSilo("silo-1"), cluster.StartSilo("silo-2"), cluster.StartGateway("gateway") };
        foreach (var member in members)
        {
            await member.WaitStartedAsync(TimeSpan.FromSeconds(90));
        }

        await using var connection = await cluster.ConnectAsync();
        var client = connection.Client;

        using var busy = SigningKey.Generate();
        using var quiet = SigningKey.Generate();
        var busyNode = client.GetGrain<IExitNodeGrain>(busy.Did.Value);
        var quietNode = client.GetGrain<IExitNodeGrain>(quiet.Did.Value);
        await busyNode.CreateAsync(new ExitNodeSetup(new SecretSeed(busy.ExportSeed()), "tenant-busy"));
        await quietNode.CreateAsync(new ExitNodeSetup(new SecretSeed(quiet.ExportSeed()), "tenant-quiet"));
        var clones = new List<SyncingClone>();
        for (var i = 0; i < 3; i++)
        {
            clones.Add(await SyncingClone.RegisterAndStartAsync(client, busyNode, busy.Did.Value));
        }

        var busyAnchor = client.GetGrain<IAnchorStateGrain>(busy.Did.Value);
        using var killed = new CancellationTokenSource();
        var writers = new[]
        {
            WriteAsync(busyNode, "a", batches: 40),
            WriteAsync(busyNode, "b", batches: 40),
            WriteAsync(quietNode, "q", batches: 5),
        };

        // Let writes flow, then SIGKILL whichever silo process hosts the busy anchor.
        await Until.TrueAsync(async () => (await busyAnchor.GetHeadAsync()).Seq >= 100, () => "the writes did not get to seq 100");

        var host = await HostOfAsync(client, busyAnchor.GetGrainId());
        var victim = cluster.Members.Single(m => m.SiloPort == host.Endpoint.Port).Process;
        await victim.KillAsync();

        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromMinutes(3));
        var head = await busyAnchor.GetHeadAsync();
        Assert.Equal(2 * 40 * 10, head.Seq);
        Assert.Equal(5 * 10, (await client.GetGrain<IAnchorStateGrain>(quiet.Did.Value).GetHeadAsync()).Seq);
        Assert.NotEqual(host, await HostOfAsync(client, busyAnchor.GetGrainId()));
        foreach (var clone in clones)
        {
            await clone.WaitForAsync(head, TimeSpan.FromSeconds(90));
            Assert.Equal(head.Root, clone.Protocol.Replica.Root);
            Assert.Equal(800, clone.Applied.Count);
            Assert.All(clone.Applied.Values, n => Assert.Equal(1, n));
            await clone.DisposeAsync();
        }
    }

    /// <summary>An owner writing batches of 10 with fixed update ids, retrying each until acknowledged (idempotent).</summary>
    private static Task WriteAsync(IExitNodeGrain node, string prefix, int batches) => Task.Run(async () =>
    {
        for (var b = 0; b < batches; b++)
        {
            var batch = Enumerable.Range(0, 10)
                .Select(i => new OwnerUpdate(UpdateType.Node, UpdateOperation.Create, $"nodes/{prefix}{b}-{i}", new RawJson($$"""{"b":{{b}}}"""), UpdateId: $"{prefix}{b}-{i}"))
                .ToList();
            // Until the cluster has declared the killed silo dead, which takes longer on a loaded machine.
            var retryUntil = DateTime.UtcNow + TimeSpan.FromMinutes(2);
            while (true)
            {
                try
                {
                    Assert.Equal(SubmitOutcome.Committed, (await node.WriteAsOwnerAsync(batch)).Outcome);
                    break;
                }
                catch (Exception e) when (e is not Xunit.Sdk.XunitException && DateTime.UtcNow < retryUntil)
                {
                    await Task.Delay(250);
                }
            }
        }
    });

    private static async Task<SiloAddress> HostOfAsync(IClusterClient client, GrainId grain)
    {
        var management = client.GetGrain<IManagementGrain>(0);
        SiloAddress? host = null;
        await Until.TrueAsync(
            async () => (host = (await management.GetDetailedGrainStatistics()).FirstOrDefault(s => s.GrainId == grain)?.SiloAddress) is not null,
            () => $"no silo reports an activation of {grain}");
        return host!;
    }
}

/// <summary><see cref="ClusterProcessTests"/> on a PostgreSQL database.</summary>
public sealed class PostgreSqlClusterProcessTests : ClusterProcessTests, IAsyncLifetime
{
    private TestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await Postgres.CreateDatabaseAsync();

    public async Task DisposeAsync() => await _database.DisposeAsync();

    protected override ClusterProcesses CreateCluster() => new(_database.ConnectionString);
}

/// <summary><see cref="ClusterProcessTests"/> on Azure Storage (the test Azurite; the cluster's own table prefix).</summary>
public sealed class AzureClusterProcessTests : ClusterProcessTests
{
    protected override ClusterProcesses CreateCluster() => new(Azurite.ConnectionString, Vivim.Storage.Schema.DatabaseKind.Azure);
}
