using Vivim.Tests.Support;

namespace Vivim.Tests.Durability;

/// <summary>
/// A worker silo and two gateway processes ("a", which tests kill, and "b", which survives) on one migrated PostgreSQL
/// database, each gateway a libp2p peer providing as fast as it is asked to.
/// </summary>
internal sealed class TwoGatewayCluster : IAsyncDisposable
{
    private readonly ClusterProcesses _cluster;

    private TwoGatewayCluster(ClusterProcesses cluster, HostProcess doomed, Uri doomedUrl, HostProcess survivor, Uri survivorUrl)
    {
        _cluster = cluster;
        (Doomed, DoomedUrl, Survivor, SurvivorUrl) = (doomed, doomedUrl, survivor, survivorUrl);
    }

    public HostProcess Doomed { get; }

    public Uri DoomedUrl { get; }

    public HostProcess Survivor { get; }

    public Uri SurvivorUrl { get; }

    public static async Task<TwoGatewayCluster> StartAsync(string connectionString)
    {
        var cluster = new ClusterProcesses(connectionString);
        try
        {
            var (code, output) = await cluster.MigrateAsync();
            Assert.True(code == 0, output);
            var settings = new Dictionary<string, string>
            {
                ["Vivim__OperatorKey"] = GatewayFixture.TestOperatorKey,
                ["Vivim__P2p__ProvidesPerSecond"] = "1000",
            };
            var worker = cluster.StartSilo("worker");
            var doomed = cluster.StartGateway("gateway-a", out var doomedUrl, new(settings) { ["Vivim__Gateway__PublicUrl"] = "http://gateway-a.test" });
            var survivor = cluster.StartGateway("gateway-b", out var survivorUrl, new(settings) { ["Vivim__Gateway__PublicUrl"] = "http://gateway-b.test" });
            foreach (var member in new[] { worker, doomed, survivor })
            {
                await member.WaitStartedAsync(TimeSpan.FromSeconds(120));
            }

            return new TwoGatewayCluster(cluster, doomed, doomedUrl, survivor, survivorUrl);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync() => _cluster.DisposeAsync();
}
