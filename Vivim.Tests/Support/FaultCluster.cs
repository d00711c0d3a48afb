using Orleans.TestingHost;
using Vivim.Anchors;
using Vivim.Feeds;
using Vivim.Security;
using Vivim.Storage;

namespace Vivim.Tests.Support;

/// <summary>
/// A cluster of its own for a test that kills silos (which would disturb the shared one), with the update log and
/// grain state held outside the silos so that they survive the kills, as a database would.
/// </summary>
public sealed class FaultCluster : IAsyncDisposable
{
    private FaultCluster(InProcessTestCluster cluster) => Cluster = cluster;

    public InProcessTestCluster Cluster { get; }

    public IClusterClient Client => Cluster.Client;

    public static async Task<FaultCluster> StartAsync(short silos = 3)
    {
        var log = new InMemoryUpdateLog();
        var state = new SharedMemoryGrainStorage();
        var builder = new InProcessTestClusterBuilder(silos);
        builder.ConfigureSilo((_, silo) =>
        {
            ClusterFixture.ConfigureSilo(silo, log, state);
            ClusterFixture.DeclareDeadSilosFast(silo);
        });
        builder.ConfigureClient(client => client.AddMemoryStreams(DidStreams.Provider).AddVivimOperatorCredentials(ClusterFixture.TestClusterSecret));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return new FaultCluster(cluster);
    }

    /// <summary>Kills the silo hosting <paramref name="grain"/>; if it sits on the primary (which the test cluster keeps), moves it first.</summary>
    public async Task KillHostOfAsync(IAnchorStateGrain grain)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            await grain.GetHeadAsync();
            Assert.True(Cluster.TryGetGrainContext(grain.GetGrainId(), out var context));
            var host = Cluster.Silos.Single(s => s.SiloAddress.Equals(context!.Address.SiloAddress));
            if (host != Cluster.Silos[0])
            {
                await Cluster.KillSiloAsync(host);
                return;
            }

            // Deactivates it with a placement hint for the last silo, so that the kill can reach it.
            await Cluster.MigrateAsync(grain, Cluster.Silos[^1].SiloAddress);
        }

        Assert.Fail("The grain never left the primary silo.");
    }

    /// <summary>
    /// A call as a client makes it after a kill: retried until <see cref="Until.Patience"/>, since the client may still
    /// try the killed silo (as its gateway, or as the grain's host) until the cluster has declared it dead.
    /// </summary>
    public static async Task<T> RetriedAsync<T>(Func<Task<T>> call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var until = DateTime.UtcNow + Until.Patience;
        while (true)
        {
            try
            {
                return await call();
            }
            catch (Exception) when (DateTime.UtcNow < until)
            {
                await Task.Delay(250);
            }
        }
    }

    public async ValueTask DisposeAsync() => await Cluster.DisposeAsync();
}
