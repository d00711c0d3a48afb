using System.Net;
using Vivim.Anchors;
using Vivim.ExitNodes;
using Vivim.Keys;
using Vivim.Protocol.Identity;

using Vivim.Tests.Support;

namespace Vivim.Tests.Durability;

/// <summary>
/// A node whose storage is down at start, then stopped and started again while writes flow: no acknowledgement
/// without durability, and service resumes when the storage is back.
/// </summary>
public abstract class StorageFaultTests
{
    /// <summary>Starts a storage server of this test's own, with a cluster on it.</summary>
    protected abstract Task<FaultyStorage> StartStorageAsync();

    /// <summary>Checks how a write failed while the storage was down (the caller must be able to tell it apart).</summary>
    protected abstract void AssertOutageError(Exception? error);

    [Fact]
    public async Task A_node_waits_for_its_storage_and_survives_a_storage_restart_without_losing_acknowledged_updates()
    {
        await using var storage = await StartStorageAsync();
        var cluster = storage.Cluster;
        await storage.StopAsync();

        // Down at start: a clear error naming the storage (never a password or key), retries with backoff, not ready.
        var node = cluster.StartGateway("gateway", new() { ["Vivim__Storage__MigrateOnStart"] = "true" });
        await node.WaitForOutputAsync(storage.UnreachableLine, TimeSpan.FromSeconds(60));
        await node.WaitForOutputAsync("(attempt 2)", TimeSpan.FromSeconds(30));
        Assert.False(node.HasExited, node.Output);
        await storage.StartAgainAsync();
        await node.WaitStartedAsync(TimeSpan.FromSeconds(90));
        Assert.Contains(storage.ReadyLine, node.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(storage.Secret, node.Output, StringComparison.Ordinal);

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
            await storage.StopAsync();
            var atStop = writes.Count;
            await Task.Delay(1500); // down for a while at least, and until a write has met the outage
            await WaitForAsync(() => writes.Failures > 0);
            var failedWhileDown = writes.Failures;
            Assert.True(writes.Count <= atStop + 10, "updates were acknowledged while the storage was down");
            AssertOutageError(writes.LastError);
            await storage.StartAgainAsync();
            await WaitForAsync(() => writes.Count >= atStop + 50);
            await stop.CancelAsync();
            await writer;
            Assert.True(failedWhileDown > 0, "no write failed while the storage was down");
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

/// <summary>A storage server a test stops and starts, the cluster on it, and what the node's log says about it.</summary>
/// <param name="UnreachableLine">What the node logs while the storage is down at start.</param>
/// <param name="ReadyLine">What the node logs once the storage is back and prepared.</param>
/// <param name="Secret">What must never appear in the node's output (the password or account key).</param>
public sealed record FaultyStorage(
    ClusterProcesses Cluster, Func<Task> Stop, Func<Task> StartAgain, string UnreachableLine, string ReadyLine, string Secret, Func<ValueTask> Release) : IAsyncDisposable
{
    public Task StopAsync() => Stop();

    public Task StartAgainAsync() => StartAgain();

    public async ValueTask DisposeAsync()
    {
        await Cluster.DisposeAsync();
        await Release();
    }
}

/// <summary><see cref="StorageFaultTests"/> on a PostgreSQL server of its own.</summary>
public sealed class DatabaseFaultTests : StorageFaultTests
{
    protected override async Task<FaultyStorage> StartStorageAsync()
    {
        var server = await PrivatePostgresServer.StartAsync();
        var database = await TestDatabase.CreateAsync(server.AdminConnectionString);
        return new FaultyStorage(
            new ClusterProcesses(database.ConnectionString), server.StopAsync, server.StartAgainAsync,
            $"Cannot reach the PostgreSql database at 127.0.0.1:{server.Port}/{database.Name}", "Applying PostgreSql migration",
            Secret: "Password=",
            async () =>
            {
                await database.DisposeAsync();
                await server.DisposeAsync();
            });
    }

    protected override void AssertOutageError(Exception? error) => Assert.NotNull(error);
}

/// <summary>
/// <see cref="StorageFaultTests"/> on an Azurite of its own (started through infra/dev/azurite.sh on free ports, stopped
/// and started again on the same ports and location): writes meet the outage as a storage failure the API answers 503.
/// </summary>
public sealed class AzureStorageFaultTests : StorageFaultTests
{
    protected override async Task<FaultyStorage> StartStorageAsync()
    {
        var azurite = await PrivateAzurite.StartAsync();
        var key = azurite.ConnectionString.Split(';').Single(p => p.StartsWith("AccountKey=", StringComparison.Ordinal))["AccountKey=".Length..];
        return new FaultyStorage(
            new ClusterProcesses(azurite.ConnectionString, Vivim.Storage.Schema.DatabaseKind.Azure), azurite.StopAsync, azurite.StartAgainAsync,
            $"Cannot reach the Azure storage account at devstoreaccount1 (tables http://127.0.0.1:{azurite.TablePort}/devstoreaccount1",
            "Storage ready: Azure at devstoreaccount1", key, azurite.DisposeAsync);
    }

    protected override void AssertOutageError(Exception? error)
    {
        Assert.NotNull(error);
        var answer = Vivim.Gateway.Api.ApiError.From(error);
        Assert.True(answer?.Status == 503, $"a write during the outage failed with {error.GetType()}: {error.Message}");
    }
}
