using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Hosting;
using Orleans.TestingHost;
using Vivim.Anchors;
using Vivim.Feeds;
using Vivim.Hosting;
using Vivim.Keys;
using Vivim.Security;
using Vivim.Storage;

namespace Vivim.Benchmarks.Cluster;

/// <summary>An in-process cluster configured as the grains run in production, on the given update log (by default the in-memory one).</summary>
internal sealed class BenchCluster : IAsyncDisposable
{
    private static readonly byte[] ClusterSecret = SHA256.HashData("vivim bench cluster secret"u8);

    private static readonly string Kek = Convert.ToBase64String(SHA256.HashData("vivim bench kek"u8));

    private BenchCluster(InProcessTestCluster cluster) => Cluster = cluster;

    public InProcessTestCluster Cluster { get; }

    public IClusterClient Client => Cluster.Client;

    public static KeyVault Vault { get; } = new(Options.Create(new KeyVaultOptions { ActiveKeyId = "bench", Keys = { ["bench"] = Kek } }));

    /// <param name="storage">Replaces the in-memory grain state and log with the host's own (e.g. a SQLite file), as a production silo has.</param>
    /// <param name="configure">More silo settings for one benchmark (e.g. a shorter collection age).</param>
    public static async Task<BenchCluster> StartAsync(short silos = 1, IUpdateLog? updateLog = null, Action<ISiloBuilder>? storage = null, Action<ISiloBuilder>? configure = null)
    {
        var log = updateLog ?? new InMemoryUpdateLog();
        var builder = new InProcessTestClusterBuilder(silos);
        builder.ConfigureSilo((_, silo) =>
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Vivim:KeyEncryption:ActiveKeyId"] = "bench",
                ["Vivim:KeyEncryption:Keys:bench"] = Kek,
                ["Vivim:ClusterSecret"] = Convert.ToBase64String(ClusterSecret),
            }).Build();
            silo.AddVivimGrains(configuration);
            if (storage is null)
            {
                silo.AddMemoryGrainStorage(VivimProviders.GrainState);
                silo.Services.AddSingleton<IUpdateLog>(log);
            }
            else
            {
                storage(silo);
            }

            silo.AddMemoryGrainStorage("PubSubStore");
            configure?.Invoke(silo);
            silo.Services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        });
        builder.ConfigureClient(client => client.AddMemoryStreams(DidStreams.Provider).AddVivimOperatorCredentials(ClusterSecret));
        builder.ConfigureHost(host => host.Logging.SetMinimumLevel(LogLevel.Warning));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return new BenchCluster(cluster);
    }

    public async ValueTask DisposeAsync() => await Cluster.DisposeAsync();
}
