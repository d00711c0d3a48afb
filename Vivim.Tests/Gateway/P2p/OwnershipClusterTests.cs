using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.TestingHost;
using Vivim.ExitNodes;
using Vivim.Feeds;
using Vivim.Gateway.P2p.Ownership;
using Vivim.Hosting;
using Vivim.Keys;
using Vivim.Protocol.Identity;
using Vivim.Security;
using Vivim.Storage;
using Vivim.Tests.Libp2p;
using Vivim.Tests.Support;

namespace Vivim.Tests.Gateway.P2p;

/// <summary>
/// Ownership over a real Orleans cluster: one worker silo and two silos labelled as gateways (silo metadata), sharing
/// the hosted-DID directory as a database would. The gateways split the DIDs; one is killed and the other takes them.
/// </summary>
public sealed class OwnershipClusterTests
{
    [Fact]
    public async Task Two_gateways_split_the_dids_and_a_killed_gateways_dids_move_to_the_survivor_within_ten_seconds_of_its_death()
    {
        using var cts = TestUtil.Timeout(240);
        var directory = new InMemoryHostedDidDirectory();
        var log = new InMemoryUpdateLog();
        var state = new SharedMemoryGrainStorage();
        var builder = new InProcessTestClusterBuilder(3);
        builder.ConfigureSilo((options, silo) =>
        {
            // The primary (the seed the test cluster keeps alive) is the worker; the others are gateways.
            var role = options.SiloName == Primary ? SiloRoles.Worker : SiloRoles.Gateway;
            ClusterFixture.ConfigureSilo(silo, log, state);
            ClusterFixture.DeclareDeadSilosFast(silo);
            silo.Services.AddSingleton<IHostedDidDirectory>(directory);
            silo.UseSiloMetadata(new Dictionary<string, string> { [SiloRoles.MetadataKey] = role });
            if (role == SiloRoles.Gateway)
            {
                silo.Services.AddVivimDidOwnership(new ConfigurationBuilder().Build());
            }
        });
        builder.ConfigureClient(client => client.AddMemoryStreams(DidStreams.Provider).AddVivimOperatorCredentials(ClusterFixture.TestClusterSecret));
        await using var cluster = builder.Build();
        await cluster.DeployAsync();

        var worker = Assert.Single(cluster.Silos, s => s.Name == Primary);
        Assert.Same(cluster.Silos[0], worker);
        Assert.Null(worker.ServiceProvider.GetService<IDidOwnership>()); // the worker serves nothing on libp2p
        var gateways = cluster.Silos.Where(s => s != worker).ToList();
        var ownerships = gateways.Select(s => s.ServiceProvider.GetRequiredService<DidOwnership>()).ToList();

        // Exit nodes created before and while the gateways know each other: each DID is owned by exactly one.
        var dids = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            dids.Add(await CreateExitNodeAsync(cluster.Client));
        }

        var identities = gateways.Select(g => GatewayMembership.IdentityOf(g.SiloAddress)).ToList();
        await TestUtil.UntilAsync(() => ownerships.All(o => o.Gateways.Count == 2) && ownerships.Sum(o => o.OwnedDids.Count) == dids.Count, cts.Token);
        for (var i = 0; i < 2; i++)
        {
            var expected = dids.Where(d => RendezvousHashing.OwnerOf(d, identities) == identities[i]).Order(StringComparer.Ordinal);
            Assert.Equal(expected, ownerships[i].OwnedDids.Order(StringComparer.Ordinal));
            Assert.NotEmpty(ownerships[i].OwnedDids);
        }

        // A deletion releases the DID at its owner.
        var deleted = dids[0];
        var deletedOwner = ownerships.Single(o => o.Owns(deleted));
        var released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        deletedOwner.Changed += (_, change) =>
        {
            if (change.Released.Contains(deleted))
            {
                released.TrySetResult();
            }
        };
        await cluster.Client.GetGrain<IExitNodeGrain>(deleted).DeleteAsync(await TenantOfAsync(cluster.Client, deleted));
        await released.Task.WaitAsync(cts.Token);
        dids.RemoveAt(0);
        Assert.DoesNotContain(ownerships, o => o.Owns(deleted));

        // Kill the gateway that owns more; the survivor takes everything soon after the cluster declares it dead.
        var victim = ownerships[0].OwnedDids.Count >= ownerships[1].OwnedDids.Count ? 0 : 1;
        var survivor = ownerships[1 - victim];
        var taken = ownerships[victim].OwnedDids.ToList();
        var victimAddress = gateways[victim].SiloAddress;
        var membership = gateways[1 - victim].ServiceProvider.GetRequiredService<IClusterMembershipService>();
        await cluster.KillSiloAsync(gateways[victim]);
        await TestUtil.UntilAsync(() => membership.CurrentSnapshot.GetSiloStatus(victimAddress) == SiloStatus.Dead, cts.Token);
        var declaredDead = Stopwatch.StartNew();
        await TestUtil.UntilAsync(() => survivor.OwnedDids.Count == dids.Count, cts.Token);
        Assert.True(declaredDead.Elapsed < TimeSpan.FromSeconds(10), $"took {declaredDead.Elapsed} after the death was declared");
        Assert.All(taken, d => Assert.True(survivor.Owns(d)));

        // A DID created now goes to the survivor, through the create notice.
        var late = await CreateExitNodeAsync(cluster.Client);
        await TestUtil.UntilAsync(() => survivor.Owns(late), cts.Token);
    }

    // The first silo of an in-process test cluster, which it keeps alive (see FaultCluster).
    private const string Primary = "Silo_0";

    private static async Task<string> CreateExitNodeAsync(IClusterClient client)
    {
        using var key = SigningKey.Generate();
        await client.GetGrain<IExitNodeGrain>(key.Did.Value).CreateAsync(new ExitNodeSetup(new SecretSeed(key.ExportSeed()), "tenant-ownership"));
        return key.Did.Value;
    }

    private static async Task<string> TenantOfAsync(IClusterClient client, string did) =>
        (await client.GetGrain<IExitNodeGrain>(did).GetInfoAsync()).TenantId;
}
