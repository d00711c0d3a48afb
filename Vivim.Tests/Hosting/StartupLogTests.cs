using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Vivim.Gateway.Hosting;
using Vivim.Tests.Support;

namespace Vivim.Tests.Hosting;

/// <summary>What a person sees when a node starts with nothing configured: a few lines, then where it is and what to type next.</summary>
public sealed class StartupLogTests
{
    [Fact]
    public async Task A_fresh_node_logs_a_ready_block_with_its_data_and_key_file_and_no_framework_chatter()
    {
        var data = Path.Combine(Path.GetTempPath(), "vivim-startlog-" + Guid.NewGuid().ToString("N")[..12]);
        var port = FreePort.Next();
        var url = "http://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture);
        try
        {
            await using var node = HostProcess.Start(
                "Vivim.Gateway",
                [
                    "--urls", url,
                    "--Vivim:DataPath", data,
                    "--Vivim:SiloPort", FreePort.Next().ToString(CultureInfo.InvariantCulture),
                    "--Vivim:GatewayPort", FreePort.Next().ToString(CultureInfo.InvariantCulture),
                ],
                new Dictionary<string, string> { ["Vivim__OperatorKey"] = string.Empty },
                "gateway",
                hostLogging: true);
            await node.WaitForOutputAsync(NodeReadyNotice.Heading, TimeSpan.FromSeconds(90));

            // Grain calls go through Orleans' placement pipeline, which logs through Polly at Information.
            var keyFile = Path.Combine(data, "operator.key");
            var operatorKey = (await File.ReadAllTextAsync(keyFile)).Trim();
            using var http = new HttpClient { BaseAddress = new Uri(url) };
            http.DefaultRequestHeaders.Authorization = new("Bearer", operatorKey);
            for (var i = 0; i < 3; i++)
            {
                using var created = await http.PostAsync("/v1/tenants", GatewayFixture.Json(new JsonObject { ["name"] = "log-" + i.ToString(CultureInfo.InvariantCulture) }));
                Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            }

            // The peer listens on a free port (HostProcess): the ready block names it as GET /v1/p2p does, dialable.
            var p2p = JsonNode.Parse(await http.GetStringAsync(new Uri("/v1/p2p", UriKind.Relative)))!;
            var libp2p = p2p["multiaddrs"]![0]!.GetValue<string>() + "/p2p/" + p2p["peerId"]!.GetValue<string>();

            // Orleans 10.4.2 may log an error at SIGTERM when a memory-stream queue read is cancelled mid-call (a race
            // in its shutdown, harmless): warnings and errors are checked up to the stop, the rest over the whole run.
            var running = node.Output;
            await node.TerminateAsync();
            Assert.Equal(0, await node.WaitForExitAsync(TimeSpan.FromSeconds(45)));
            var output = node.Output;

            Assert.Contains(
                string.Join(
                    Environment.NewLine,
                    "      " + NodeReadyNotice.Heading,
                    "        API:          " + url,
                    "        libp2p:       " + libp2p,
                    "        data:         " + data,
                    "        operator key: " + keyFile,
                    "        next, in another terminal in this directory:",
                    $"          dotnet run --project Vivim.Cli -- demo --gateway {url} --operator-key \"$(cat '{keyFile}')\""),
                output,
                StringComparison.Ordinal);
            Assert.DoesNotContain(operatorKey, output, StringComparison.Ordinal);
            Assert.DoesNotContain("Polly", output, StringComparison.Ordinal);
            Assert.DoesNotContain("Configuration Orleans.", output, StringComparison.Ordinal);
            Assert.DoesNotContain("Participant check thread", output, StringComparison.Ordinal);
            Assert.False(running.Contains("warn:", StringComparison.Ordinal), running);
            Assert.False(running.Contains("fail:", StringComparison.Ordinal), running);
            var lines = running.Split('\n').Length;
            Assert.True(lines < 40, $"{lines} lines from start to the stop:\n{running}");
        }
        finally
        {
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }

    [Fact]
    public async Task The_default_levels_keep_frameworks_at_warning_and_configuration_still_overrides_them()
    {
        var data = Path.Combine(Path.GetTempPath(), "vivim-levels-" + Guid.NewGuid().ToString("N")[..12]);
        string[] common =
        [
            "--urls", "http://127.0.0.1:0",
            "--Vivim:DataPath", data,
            "--Vivim:SiloPort", FreePort.Next().ToString(CultureInfo.InvariantCulture),
            "--Vivim:GatewayPort", FreePort.Next().ToString(CultureInfo.InvariantCulture),
            "--Vivim:P2p:Listen:0", "/ip4/127.0.0.1/tcp/0",
        ];
        try
        {
            await using (var app = GatewayApp.Create(common))
            {
                var loggers = app.Services.GetRequiredService<ILoggerFactory>();
                Assert.True(loggers.CreateLogger("Vivim.Gateway.Hosting.NodeReadyNotice").IsEnabled(LogLevel.Information));
                foreach (var category in new[] { "Orleans.Runtime.Silo", "Polly", "Microsoft.AspNetCore.Hosting.Diagnostics", "Microsoft.Hosting.Lifetime" })
                {
                    Assert.False(loggers.CreateLogger(category).IsEnabled(LogLevel.Information), category);
                    Assert.True(loggers.CreateLogger(category).IsEnabled(LogLevel.Warning), category);
                }

                Assert.False(loggers.CreateLogger("Orleans.Runtime.Watchdog").IsEnabled(LogLevel.Warning));
            }

            await using (var app = GatewayApp.Create([.. common, "--Logging:LogLevel:Orleans", "Information", "--Logging:LogLevel:Vivim", "Warning"]))
            {
                var loggers = app.Services.GetRequiredService<ILoggerFactory>();
                Assert.True(loggers.CreateLogger("Orleans.Runtime.Silo").IsEnabled(LogLevel.Information));
                Assert.False(loggers.CreateLogger("Vivim.Gateway.Hosting.NodeReadyNotice").IsEnabled(LogLevel.Information));
            }
        }
        finally
        {
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }
}
