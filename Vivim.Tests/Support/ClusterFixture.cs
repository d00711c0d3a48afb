using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Serialization;
using Orleans.Storage;
using Orleans.TestingHost;
using Vivim.Anchors;
using Vivim.Feeds;
using Vivim.Hosting;
using Vivim.Security;
using Vivim.Storage;

namespace Vivim.Tests.Support;

/// <summary>
/// One in-process Orleans cluster of two silos shared by a test collection, with memory streams, memory grain
/// state and one in-memory update log shared by both silos (the durable logs are tested on their own).
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    /// <summary>A fixed key-encryption key for tests.</summary>
    public static readonly string TestKek = Convert.ToBase64String(SHA256.HashData("vivim test kek"u8));

    /// <summary>The cluster secret of test clusters; test clients act as the operator with it.</summary>
    public static readonly byte[] TestClusterSecret = SHA256.HashData("vivim test cluster secret"u8);

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public InMemoryUpdateLog Log { get; } = new();

    public SharedMemoryGrainStorage State { get; } = new();

    public IClusterClient Client => Cluster.Client;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((_, silo) => ConfigureSilo(silo, Log, State));
        builder.ConfigureClient(client => client.AddMemoryStreams(DidStreams.Provider).AddVivimOperatorCredentials(ClusterFixture.TestClusterSecret));
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();

    public static void ConfigureSilo(ISiloBuilder silo, IUpdateLog log, SharedMemoryGrainStorage state, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Vivim:KeyEncryption:ActiveKeyId"] = "test",
            ["Vivim:KeyEncryption:Keys:test"] = TestKek,
            ["Vivim:ClusterSecret"] = Convert.ToBase64String(TestClusterSecret),
        }).AddInMemoryCollection(settings ?? new Dictionary<string, string?>()).Build();
        silo.AddVivimGrains(configuration);
        silo.Services.AddKeyedSingleton<IGrainStorage>(VivimProviders.GrainState, (sp, _) => state.For(sp.GetRequiredService<Serializer>()));
        // Stream subscriptions survive a silo's death, as with the PostgreSQL store in production.
        silo.Services.AddKeyedSingleton<IGrainStorage>("PubSubStore", (sp, _) => state.For(sp.GetRequiredService<Serializer>()));
        silo.Services.AddSingleton(log);
        silo.Services.AddSingleton<ISpentNonces>(state.Nonces);
    }

    /// <summary>
    /// A one-silo cluster of a test class's own, with <paramref name="settings"/> over the test configuration, in-memory
    /// storage, and <paramref name="configure"/> after the Vivim composition (a clock, a call filter).
    /// </summary>
    public static async Task<InProcessTestCluster> StartOwnAsync(IReadOnlyDictionary<string, string?> settings, Action<ISiloBuilder>? configure = null)
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            ConfigureSilo(silo, new InMemoryUpdateLog(), new SharedMemoryGrainStorage(), settings);
            configure?.Invoke(silo);
        });
        builder.ConfigureClient(client => client.AddMemoryStreams(DidStreams.Provider).AddVivimOperatorCredentials(TestClusterSecret));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    /// <summary>
    /// For clusters whose tests kill silos: the dead are declared within seconds. Only there: on a loaded machine, a
    /// silo that misses two one-second probes is not dead, and a cluster that says so fails calls that should succeed.
    /// </summary>
    public static void DeclareDeadSilosFast(ISiloBuilder silo) => silo.Configure<ClusterMembershipOptions>(o =>
    {
        o.ProbeTimeout = TimeSpan.FromSeconds(1);
        o.NumMissedProbesLimit = 2;
        o.NumVotesForDeathDeclaration = 1;
    });
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
