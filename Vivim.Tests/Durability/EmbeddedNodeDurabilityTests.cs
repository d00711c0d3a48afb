using System.Globalization;
using Vivim.Anchors;
using Vivim.ExitNodes;
using Vivim.Keys;
using Vivim.Protocol.Identity;
using Vivim.Tests.Grains;
using Vivim.Tests.Support;

namespace Vivim.Tests.Durability;

/// <summary>
/// A single node (one Vivim.Gateway process) SIGKILLed at random moments while a writer writes, restarted on the same
/// storage, and read back: every acknowledged update, the registration and the sealed key survive.
/// </summary>
public abstract class NodeRestartDurabilityTests
{
    /// <summary>Starts the node (again) on the same storage.</summary>
    protected abstract HostProcess StartNode(int round);

    protected abstract Task<ExternalClient> ConnectAsync();

    /// <summary>Checks, after the first start, that the node created its storage.</summary>
    protected abstract Task AssertStorageCreatedAsync();

    [Fact]
    public async Task Every_acknowledged_update_registration_and_key_survives_SIGKILL()
    {
        var random = new Random(Environment.TickCount);
        var writes = new AcknowledgedUpdates();
        using var parent = SigningKey.Generate();
        using var clone = SigningKey.Generate();
        string? cloneId = null;
        string? advertisedDid = null;
        for (var round = 0; round < 4; round++)
        {
            await using var node = StartNode(round);
            await node.WaitStartedAsync(TimeSpan.FromSeconds(90));
            await using var connection = await ConnectAsync();
            var grains = connection.Client;
            var exitNode = grains.GetGrain<IExitNodeGrain>(parent.Did.Value);
            var anchor = grains.GetGrain<IAnchorStateGrain>(parent.Did.Value);
            if (round == 0)
            {
                await AssertStorageCreatedAsync();
                var advertisement = await exitNode.CreateAsync(new ExitNodeSetup(new SecretSeed(parent.ExportSeed()), "tenant-embedded"));
                advertisedDid = advertisement.Did;
                cloneId = await ExitNodeTestKit.RegisterApprovedAsync(exitNode, clone);
            }
            else
            {
                // The key (sealed under the node's own key-encryption key), the registration and every promise survived.
                var advertisement = await exitNode.GetAdvertisementAsync();
                Assert.Equal(advertisedDid, advertisement.Did);
                var clones = await exitNode.ListClonesAsync(null, 100);
                Assert.Contains(clones.Items, c => c.CloneId == cloneId);
                await writes.RetryUnacknowledgedAsync(anchor);
                await writes.VerifyAsync(anchor);
            }

            if (round == 3)
            {
                break;
            }

            // Kill at a random moment while batches are being committed.
            using var stop = new CancellationTokenSource();
            var before = writes.Count;
            var writer = writes.WriteUntilFailureAsync(() => anchor, parent, $"r{round}", batchSize: 1 + random.Next(8), stop.Token);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (writes.Count == before && !writer.IsCompleted && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            Assert.True(writes.Count > before, $"no write was acknowledged ({writes.LastError} {writer.Exception}):\n{node.Output}");
            await Task.Delay(random.Next(1000));
            await node.KillAsync();
            await writer.WaitAsync(TimeSpan.FromSeconds(60));
        }

        Assert.True(writes.Count > 30, $"only {writes.Count} acknowledged updates");
    }
}

/// <summary>The embedded node: Vivim.Gateway with no configuration but a data directory (SQLite files).</summary>
public sealed class EmbeddedNodeDurabilityTests : NodeRestartDurabilityTests, IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "vivim-embedded-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly int _siloPort = FreePort.Next();
    private readonly int _gatewayPort = FreePort.Next();

    public void Dispose()
    {
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }

    protected override HostProcess StartNode(int round) => HostProcess.Start("Vivim.Gateway",
    [
        "--urls", "http://127.0.0.1:" + FreePort.Next().ToString(CultureInfo.InvariantCulture),
        "--Vivim:DataPath", _data,
        "--Vivim:SiloPort", _siloPort.ToString(CultureInfo.InvariantCulture),
        "--Vivim:GatewayPort", _gatewayPort.ToString(CultureInfo.InvariantCulture),
    ], name: $"gateway (round {round})");

    protected override Task<ExternalClient> ConnectAsync() =>
        ExternalClient.ConnectAsync(c => c.UseLocalhostClustering(_gatewayPort, "vivim", "vivim-local"), TimeSpan.FromSeconds(30));

    protected override Task AssertStorageCreatedAsync()
    {
        Assert.True(File.Exists(Path.Combine(_data, "vivim.db")), "the data directory was not created on first run");
        return Task.CompletedTask;
    }
}

/// <summary>
/// The same node on Azure Storage (the test Azurite, a table prefix of its own) with nothing run before it: it creates
/// its tables and container at first start, and every restart finds what the killed one acknowledged.
/// </summary>
public sealed class AzureNodeDurabilityTests : NodeRestartDurabilityTests, IAsyncLifetime
{
    private readonly ClusterProcesses _node = new(Azurite.ConnectionString, Vivim.Storage.Schema.DatabaseKind.Azure);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _node.DisposeAsync();

    protected override HostProcess StartNode(int round) => _node.StartGateway($"gateway (round {round})");

    protected override Task<ExternalClient> ConnectAsync() => _node.ConnectAsync();

    protected override async Task AssertStorageCreatedAsync() => Assert.Empty(await _node.Azure!.FindMissingAsync());
}
