using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Vivim.Gateway.Hosting;
using Vivim.Gateway.P2p;
using Vivim.Tests.Support;

namespace Vivim.Tests.Gateway.P2p;

/// <summary>
/// An all-in-one gateway in this process (real Kestrel, silo and libp2p sockets on loopback) for the libp2p tests: the
/// libp2p peer listens on a free port unless <c>settings</c> say otherwise (later settings win).
/// </summary>
internal sealed class P2pTestGateway : IAsyncDisposable
{
    private readonly WebApplication _app;

    private P2pTestGateway(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public IServiceProvider Services => _app.Services;

    public GatewayPeerService PeerService => Services.GetRequiredService<GatewayPeerService>();

    /// <summary>The command line <see cref="StartAsync"/> gives <see cref="GatewayApp.Create"/> before <paramref name="settings"/>.</summary>
    public static List<string> Arguments(string dataPath, int httpPort, IEnumerable<string> settings) =>
    [
        "--urls", "http://127.0.0.1:" + httpPort.ToString(CultureInfo.InvariantCulture),
        "--Vivim:DataPath", dataPath,
        "--Vivim:SiloPort", FreePort.Next().ToString(CultureInfo.InvariantCulture),
        "--Vivim:GatewayPort", FreePort.Next().ToString(CultureInfo.InvariantCulture),
        "--Vivim:ClusterId", "p2p-tests-" + httpPort.ToString(CultureInfo.InvariantCulture),
        "--Vivim:OperatorKey", GatewayFixture.TestOperatorKey,
        "--Vivim:ClusterSecret", Convert.ToBase64String(ClusterFixture.TestClusterSecret),
        "--Vivim:P2p:Listen:0", "/ip4/127.0.0.1/tcp/0",
        "--Logging:LogLevel:Default", "Warning",
        "--Vivim:Management:Urls", "none",
        .. settings,
    ];

    public static async Task<P2pTestGateway> StartAsync(string dataPath, IEnumerable<string>? settings = null, Action<WebApplicationBuilder>? configure = null)
    {
        var port = FreePort.Next();
        var app = GatewayApp.Create([.. Arguments(dataPath, port, settings ?? [])], configure);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await app.StartAsync(timeout.Token);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return new P2pTestGateway(app, new Uri($"http://127.0.0.1:{port}"));
    }

    public HttpClient CreateClient() => new(new ContractCheckingHandler()) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    /// <summary><c>GET /v1/p2p</c>, checked against the OpenAPI document.</summary>
    public async Task<(string PeerId, IReadOnlyList<string> Multiaddrs, IReadOnlyList<string> Protocols)> GetP2pAsync()
    {
        using var http = CreateClient();
        var json = JsonNode.Parse(await http.GetStringAsync(new Uri("/v1/p2p", UriKind.Relative)))!;
        return (
            json["peerId"]!.GetValue<string>(),
            [.. json["multiaddrs"]!.AsArray().Select(a => a!.GetValue<string>())],
            [.. json["protocols"]!.AsArray().Select(p => p!.GetValue<string>())]);
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
    }
}
