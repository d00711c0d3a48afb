using Orleans.TestingHost;
using Vivim.Anchors;
using Vivim.Feeds;
using Vivim.Security;
using Vivim.Storage.Sqlite;

namespace Vivim.Tests.Support;

/// <summary>
/// A one-silo cluster whose anchors keep their update log in a SQLite file, as the embedded node does; grain state
/// is held outside the silo so that a new cluster on the same file finds the anchors' keys again.
/// </summary>
public sealed class SqliteCluster : IAsyncDisposable
{
    private readonly SqliteUpdateLog _log;

    private SqliteCluster(InProcessTestCluster cluster, SqliteUpdateLog log)
    {
        Cluster = cluster;
        _log = log;
    }

    public InProcessTestCluster Cluster { get; }

    public IClusterClient Client => Cluster.Client;

    public static async Task<SqliteCluster> StartAsync(string databaseFile, SharedMemoryGrainStorage state)
    {
        var log = new SqliteUpdateLog(databaseFile);
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) => ClusterFixture.ConfigureSilo(silo, log, state));
        builder.ConfigureClient(client => client.AddMemoryStreams(DidStreams.Provider).AddVivimOperatorCredentials(ClusterFixture.TestClusterSecret));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return new SqliteCluster(cluster, log);
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.DisposeAsync();
        _log.Dispose();
    }
}
