using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Vivim.Gateway.Hosting;
using Vivim.Tests.Support;

namespace Vivim.Tests.Hosting;

public sealed class GatewayHostTests
{
    [Fact]
    public async Task The_all_in_one_node_starts_a_silo_and_reports_its_lifecycle()
    {
        var data = Path.Combine(Path.GetTempPath(), "vivim-gateway-" + Guid.NewGuid().ToString("N")[..12]);
        var app = GatewayApp.Create([
            "--Vivim:DataPath", data,
            "--urls", "http://127.0.0.1:0",
            "--Vivim:SiloPort", FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--Vivim:GatewayPort", FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--Vivim:P2p:Listen:0", "/ip4/127.0.0.1/tcp/0",
            "--Logging:LogLevel:Default", "Warning",
        ]);
        var health = app.Services.GetRequiredService<HostLifecycleHealth>();
        Assert.False(health.Ready);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await app.StartAsync(cts.Token);
        try
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            using var http = new HttpClient(new ContractCheckingHandler()) { BaseAddress = new Uri(address) };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/health/startup", UriKind.Relative), cts.Token)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/health/ready", UriKind.Relative), cts.Token)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/health/live", UriKind.Relative), cts.Token)).StatusCode);
            // The API is served, behind its authentication.
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(new Uri("/v1/exit-nodes", UriKind.Relative), cts.Token)).StatusCode);
            Assert.True(health.Ready);
        }
        finally
        {
            await app.StopAsync(cts.Token);
        }

        Assert.False(health.Ready);
        Assert.True(health.Started);
        await app.DisposeAsync();
        Assert.True(File.Exists(Path.Combine(data, "vivim.db")), "the embedded node keeps its state under Vivim:DataPath");
        Directory.Delete(data, recursive: true);
    }
}
