using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Vivim.Gateway.Hosting;
using Vivim.Management;
using Vivim.Tests.Support;

namespace Vivim.Tests.Operations;

/// <summary>The management port's settings, each seen from outside: where it listens, which key rule holds, what is off.</summary>
public sealed class ManagementConfigurationTests
{
    private static readonly AuthenticationHeaderValue Key = new("Bearer", GatewayFixture.TestOperatorKey);

    [Fact]
    public async Task Metrics_on_the_public_port_only_when_configured_and_then_only_with_the_key()
    {
        var management = FreeUrl();
        var gateway = new GatewayFixture { ExtraArguments = [$"--Vivim:Management:Urls={management}", "--Vivim:Management:MetricsOnPublicPort=true"] };
        await gateway.InitializeAsync();
        try
        {
            var (refused, _, refusedResponse) = await ManagementPort.GetAsync(gateway.BaseAddress, "/metrics");
            using (refusedResponse)
            {
                Assert.Equal(HttpStatusCode.Unauthorized, refused);
                Assert.Contains(refusedResponse.Headers.WwwAuthenticate, c => c.Scheme == "Basic");
            }

            var (served, text, servedResponse) = await ManagementPort.GetAsync(gateway.BaseAddress, "/metrics", Key);
            servedResponse.Dispose();
            Assert.Equal(HttpStatusCode.OK, served);
            Assert.Contains("orleans_catalog_activations", text, StringComparison.Ordinal);

            // Only /metrics: the status and the dashboard stay on the management port.
            foreach (var path in new[] { "/status", "/dashboard/" })
            {
                var (status, _, response) = await ManagementPort.GetAsync(gateway.BaseAddress, path, Key);
                response.Dispose();
                Assert.Equal(HttpStatusCode.NotFound, status);
            }
        }
        finally
        {
            await gateway.DisposeAsync();
        }
    }

    [Fact]
    public async Task Without_the_key_rule_metrics_and_status_are_open_but_the_dashboard_still_needs_the_key()
    {
        var management = new Uri(FreeUrl());
        var gateway = new GatewayFixture { ExtraArguments = [$"--Vivim:Management:Urls={management}", "--Vivim:Management:RequireOperatorKey=false", "--Vivim:Dashboard:Enabled=true"] };
        await gateway.InitializeAsync();
        try
        {
            foreach (var path in new[] { "/metrics", "/status" })
            {
                var (status, body, response) = await ManagementPort.GetAsync(management, path);
                response.Dispose();
                Assert.True(status == HttpStatusCode.OK, $"{path}: {(int)status} {body}");
            }

            foreach (var path in new[] { "/dashboard", "/dashboard/", "/dashboard/DashboardCounters" })
            {
                var (status, _, response) = await ManagementPort.GetAsync(management, path);
                response.Dispose();
                Assert.Equal(HttpStatusCode.Unauthorized, status);
            }

            var (signedIn, _, signedInResponse) = await ManagementPort.GetAsync(management, "/dashboard/DashboardCounters", ManagementPort.Basic("anyone", GatewayFixture.TestOperatorKey));
            signedInResponse.Dispose();
            Assert.Equal(HttpStatusCode.OK, signedIn);
        }
        finally
        {
            await gateway.DisposeAsync();
        }
    }

    [Fact]
    public async Task With_telemetry_off_there_is_no_metrics_endpoint_and_the_dashboard_is_off_unless_enabled()
    {
        var management = new Uri(FreeUrl());
        var gateway = new GatewayFixture { ExtraArguments = [$"--Vivim:Management:Urls={management}", "--Vivim:Telemetry:Enabled=false", "--Vivim:Dashboard:Enabled=false"] };
        await gateway.InitializeAsync();
        try
        {
            foreach (var (path, expected) in new[] { ("/metrics", HttpStatusCode.NotFound), ("/dashboard/", HttpStatusCode.NotFound), ("/status", HttpStatusCode.OK) })
            {
                var (status, body, response) = await ManagementPort.GetAsync(management, path, Key);
                response.Dispose();
                Assert.True(status == expected, $"{path}: {(int)status} {body}");
            }
        }
        finally
        {
            await gateway.DisposeAsync();
        }
    }

    [Fact]
    public void A_management_url_on_the_public_port_or_a_taken_one_or_a_sample_ratio_out_of_range_stops_the_node_at_start()
    {
        var port = FreePort.Next();
        var data = Path.Combine(Path.GetTempPath(), "vivim-management-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            string[] common = [.. GatewayFixture.Arguments(new Uri($"http://127.0.0.1:{port}"), data, "management-config")];
            var shared = Assert.Throws<OptionsValidationException>(() => GatewayApp.Create([.. common, $"--Vivim:Management:Urls=http://0.0.0.0:{port}"]));
            Assert.Contains("shares a port with the public API", shared.Message, StringComparison.Ordinal);

            using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            taken.Start();
            var busy = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
            var inUse = Assert.Throws<Vivim.Hosting.PortInUseException>(() => GatewayApp.Create([.. common, $"--Vivim:Management:Urls=http://127.0.0.1:{busy}"]));
            Assert.Contains("--Vivim:Management:Urls", inUse.Message, StringComparison.Ordinal);

            var ratio = Assert.Throws<OptionsValidationException>(() => GatewayApp.Create([.. common, "--Vivim:Telemetry:SampleRatio=1.5"]));
            Assert.Contains("SampleRatio must be between 0 and 1", ratio.Message, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }

    [Theory]
    [InlineData(null, true, "http://localhost:9464", true)] // the embedded node: localhost, with the dashboard
    [InlineData(null, false, null, false)] // a cluster's host: off unless configured
    [InlineData("none", true, null, false)]
    [InlineData("http://0.0.0.0:0", false, "http://0.0.0.0:0", false)] // a pod: the dashboard only when enabled
    public void Where_the_management_port_listens_by_default(string? urls, bool embedded, string? expected, bool dashboard)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Vivim:Management:Urls"] = urls, ["urls"] = "http://localhost:8080", ["Vivim:OperatorKey"] = GatewayFixture.TestOperatorKey }).Build();
        var settings = ManagementSettings.Resolve(configuration, embedded);
        Assert.Equal(expected is null ? [] : [expected], settings.Urls);
        Assert.Equal(dashboard, settings.Dashboard);
        Assert.Equal(urls is { Length: > 0 } and not "none", settings.Explicit);
    }

    private static string FreeUrl() => "http://127.0.0.1:" + FreePort.Next().ToString(CultureInfo.InvariantCulture);
}
