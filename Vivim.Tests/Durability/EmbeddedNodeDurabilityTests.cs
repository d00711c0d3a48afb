using System.Globalization;
using Vivim.Anchors;
using Vivim.ExitNodes;
using Vivim.Keys;
using Vivim.Protocol.Identity;
using Vivim.Tests.Grains;
using Vivim.Tests.Support;

namespace Vivim.Tests.Durability;

/// <summary>
/// The embedded node (Vivim.Gateway with no configuration but a data directory) as a real process: SIGKILLed at
/// random moments while a writer writes, restarted on the same files, and read back.
/// </summary>
public sealed class EmbeddedNodeDurabilityTests
{
    [Fact]
    public async Task Every_acknowledged_update_registration_and_key_survives_SIGKILL()
    {
        var data = Path.Combine(Path.GetTempPath(), "vivim-embedded-" + Guid.NewGuid().ToString("N")[..12]);
        var siloPort = FreePort.Next();
        var gatewayPort = FreePort.Next();
        string[] arguments =
        [
            "--urls", "http://127.0.0.1:" + FreePort.Next().ToString(CultureInfo.InvariantCulture),
            "--Vivim:DataPath", data,
            "--Vivim:SiloPort", siloPort.ToString(CultureInfo.InvariantCulture),
            "--Vivim:GatewayPort", gatewayPort.ToString(CultureInfo.InvariantCulture),
        ];
        var random = new Random(Environment.TickCount);
        var writes = new AcknowledgedUpdates();
        using var parent = SigningKey.Generate();
        using var clone = SigningKey.Generate();
        string? cloneId = null;
        string? advertisedDid = null;
        try
        {
            for (var round = 0; round < 4; round++)
            {
                await using var node = HostProcess.Start("Vivim.Gateway", arguments, name: $"gateway (round {round})");
                await node.WaitStartedAsync(TimeSpan.FromSeconds(60));
                await using var connection = await ExternalClient.ConnectAsync(c => c.UseLocalhostClustering(gatewayPort, "vivim", "vivim-local"), TimeSpan.FromSeconds(30));
                var grains = connection.Client;
                var exitNode = grains.GetGrain<IExitNodeGrain>(parent.Did.Value);
                var anchor = grains.GetGrain<IAnchorStateGrain>(parent.Did.Value);
                if (round == 0)
                {
                    Assert.True(File.Exists(Path.Combine(data, "vivim.db")), "the data directory was not created on first run");
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
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
