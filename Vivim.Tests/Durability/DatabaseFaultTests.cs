using System.Net;
using Vivim.Anchors;
using Vivim.ExitNodes;
using Vivim.Keys;
using Vivim.Protocol.Identity;

using Vivim.Tests.Support;

namespace Vivim.Tests.Durability;

/// <summary>A node whose PostgreSQL is down at start, then restarted while writes flow: no acknowledgement without durability.</summary>
public sealed class DatabaseFaultTests
{
    [Fact]
    public async Task A_node_waits_for_its_database_and_survives_a_database_restart_without_losing_acknowledged_updates()
    {
        await using var server = await PrivatePostgresServer.StartAsync();
        await using var database = await TestDatabase.CreateAsync(server.AdminConnectionString);
        await using var cluster = new ClusterProcesses(database.ConnectionString);
        await server.StopAsync();

        // Down at start: a clear error naming the database (never the password), retries with backoff, not ready.
        var node = cluster.StartGateway("gateway", new() { ["Vivim__Storage__MigrateOnStart"] = "true" });
        await node.WaitForOutputAsync($"Cannot reach the PostgreSql database at 127.0.0.1:{server.Port}/{database.Name}", TimeSpan.FromSeconds(60));
        await node.WaitForOutputAsync("(attempt 2)", TimeSpan.FromSeconds(30));
        Assert.False(node.HasExited, node.Output);
        await server.StartAgainAsync();
        await node.WaitStartedAsync(TimeSpan.FromSeconds(90));
        Assert.Contains("Applying PostgreSql migration", node.Output, StringComparison.Ordinal);

        await using var connection = await cluster.ConnectAsync();
        using var parent = SigningKey.Generate();
        await connection.Client.GetGrain<IExitNodeGrain>(parent.Did.Value).CreateAsync(new ExitNodeSetup(new SecretSeed(parent.ExportSeed()), "tenant-faults"));
        var anchor = connection.Client.GetGrain<IAnchorStateGrain>(parent.Did.Value);
        var writes = new AcknowledgedUpdates();

        // Restarted mid-run: writes fail without acknowledgement while it is down, then resume.
        for (var round = 0; round < 2; round++)
        {
            using var stop = new CancellationTokenSource();
            var writer = KeepWritingAsync(writes, anchor, parent, $"r{round}", stop.Token);
            await WaitForAsync(() => writes.Count >= (round + 1) * 50);
            await server.StopAsync();
            var atStop = writes.Count;
            await Task.Delay(1500); // down for a while at least, and until a write has met the outage
            await WaitForAsync(() => writes.Failures > 0);
            var failedWhileDown = writes.Failures;
            Assert.True(writes.Count <= atStop + 10, "updates were acknowledged while the database was down");
            await server.StartAgainAsync();
            await WaitForAsync(() => writes.Count >= atStop + 50);
            await stop.CancelAsync();
            await writer;
            Assert.True(failedWhileDown > 0, "no write failed while the database was down");
        }

        await writes.RetryUnacknowledgedAsync(anchor);
        Assert.Equal(writes.Count, await writes.VerifyAsync(anchor));

        // And after a full restart of the node, everything is still there.
        await node.KillAsync();
        var again = cluster.StartGateway("gateway again");
        await again.WaitStartedAsync(TimeSpan.FromSeconds(90));
        await using var reconnected = await cluster.ConnectAsync();
        Assert.Equal(writes.Count, await writes.VerifyAsync(reconnected.Client.GetGrain<IAnchorStateGrain>(parent.Did.Value)));
    }

    private static async Task KeepWritingAsync(AcknowledgedUpdates writes, IAnchorStateGrain anchor, SigningKey author, string prefix, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            await writes.WriteUntilFailureAsync(() => anchor, author, prefix, batchSize: 5, stop);
            if (!stop.IsCancellationRequested)
            {
                await Task.Delay(100, CancellationToken.None);
            }
        }
    }

    private static Task WaitForAsync(Func<bool> condition) => Until.TrueAsync(condition, () => "the writes did not get there");
}
