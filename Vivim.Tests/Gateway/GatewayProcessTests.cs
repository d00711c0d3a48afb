using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Vivim.Gateway.Hosting;
using Vivim.Protocol.Http;
using Vivim.Tests.Support;

namespace Vivim.Tests.Gateway;

/// <summary>The all-in-one node as a real process, with nothing configured but its data directory and ports.</summary>
public sealed class GatewayProcessTests
{
    [Fact]
    public async Task A_fresh_node_creates_its_operator_key_serves_the_api_and_drains_its_sockets_on_SIGTERM()
    {
        var data = Path.Combine(Path.GetTempPath(), "vivim-process-" + Guid.NewGuid().ToString("N")[..12]);
        var port = FreePort.Next();
        string[] arguments =
        [
            "--urls", "http://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
            "--Vivim:DataPath", data,
            "--Vivim:SiloPort", FreePort.Next().ToString(CultureInfo.InvariantCulture),
            "--Vivim:GatewayPort", FreePort.Next().ToString(CultureInfo.InvariantCulture),
        ];
        try
        {
            // No operator key configured: the node writes one, owner-readable, and logs where (never the key).
            await using var node = HostProcess.Start("Vivim.Gateway", arguments, new Dictionary<string, string> { ["Vivim__OperatorKey"] = string.Empty }, "gateway");
            await node.WaitStartedAsync(TimeSpan.FromSeconds(60));

            // The ready block is logged once the host has started, right after the lifetime's own line.
            await node.WaitForOutputAsync(NodeReadyNotice.Heading, TimeSpan.FromSeconds(60));
            var keyFile = Path.Combine(data, "operator.key");
            var operatorKey = (await File.ReadAllTextAsync(keyFile)).Trim();
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
            }

            Assert.Contains("operator.key", node.Output, StringComparison.Ordinal);
            Assert.DoesNotContain(operatorKey, node.Output, StringComparison.Ordinal);

            var baseAddress = new Uri($"http://127.0.0.1:{port}");
            using var http = new HttpClient(new ContractCheckingHandler()) { BaseAddress = baseAddress };
            http.DefaultRequestHeaders.Authorization = new("Bearer", operatorKey);
            using var created = await http.PostAsync("/v1/tenants", GatewayFixture.Json(new JsonObject { ["name"] = "process" }));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var apiKey = JsonNode.Parse(await created.Content.ReadAsStringAsync())!["apiKey"]!.GetValue<string>();
            Assert.DoesNotContain(apiKey, node.Output, StringComparison.Ordinal);

            using var tenant = new HttpClient(new ContractCheckingHandler()) { BaseAddress = baseAddress };
            tenant.DefaultRequestHeaders.Authorization = new("Bearer", apiKey);
            using var nodeCreated = await tenant.PostAsync("/v1/exit-nodes", GatewayFixture.Json(new JsonObject()));
            var did = JsonNode.Parse(await nodeCreated.Content.ReadAsStringAsync())!["did"]!.GetValue<string>();
            using var written = await tenant.PostAsync($"/v1/exit-nodes/{did}/updates", GatewayFixture.Json(JsonNode.Parse("""{"updates":[{"type":"memory","operation":"create","path":"memoryIndex/a","data":1}]}""")!));
            Assert.Equal(HttpStatusCode.OK, written.StatusCode);

            // A clone registers and opens the sync channel; SIGTERM closes it with "going away" and the process exits cleanly.
            var fixtureLike = new ProcessGateway(baseAddress);
            var clone = await GatewayTestKit.RegisterAsync(fixtureLike.Gateway, did);
            var target = $"/v1/clones/{clone.CloneId}/sync";
            var headers = HttpMessageSignature.Sign(clone.Key, "GET", target, [], hasBody: false, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
            using var socket = new ClientWebSocket();
            socket.Options.SetRequestHeader(HttpMessageSignature.SignatureInputHeader, headers.SignatureInput);
            socket.Options.SetRequestHeader(HttpMessageSignature.SignatureHeader, headers.Signature);
            await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{port}{target}"), CancellationToken.None);
            await SyncSocketTests.SendAsync(socket, new JsonObject { ["type"] = "hello", ["cursor"] = 1 });
            Assert.Equal("welcome", (await SyncSocketTests.ReceiveAsync(socket))!["type"]!.GetValue<string>());

            await node.TerminateAsync();
            while (await SyncSocketTests.ReceiveAsync(socket) is not null)
            {
            }

            Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, socket.CloseStatus);
            Assert.Equal(0, await node.WaitForExitAsync(TimeSpan.FromSeconds(45)));
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    /// <summary>The fixture's helpers pointed at a process instead of the in-process gateway.</summary>
    private sealed class ProcessGateway(Uri baseAddress)
    {
        public GatewayFixture Gateway { get; } = GatewayFixture.At(baseAddress);
    }
}
