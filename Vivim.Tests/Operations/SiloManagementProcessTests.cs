using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Vivim.Tests.Durability;
using Vivim.Tests.Gateway;
using Vivim.Tests.Support;

namespace Vivim.Tests.Operations;

/// <summary>
/// A production-shaped cluster on PostgreSQL (a Vivim.Silo worker and a Vivim.Gateway as processes): the silo, which
/// has no public port, serves /metrics and /status on its management port behind the operator key; the dashboard
/// lists both silos; a silo told to open one without an operator key refuses to start.
/// </summary>
public sealed class SiloManagementProcessTests : IAsyncLifetime
{
    private TestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await Postgres.CreateDatabaseAsync();

    public async Task DisposeAsync() => await _database.DisposeAsync();

    [Fact]
    public async Task A_silos_management_port_needs_the_key_and_the_dashboard_lists_every_silo()
    {
        await using var cluster = new ClusterProcesses(_database.ConnectionString);
        var (code, output) = await cluster.MigrateAsync();
        Assert.True(code == 0, output);

        var siloManagement = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var gatewayManagement = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var silo = cluster.StartSilo("silo", new() { ["Vivim__Management__Urls"] = siloManagement.ToString(), ["Vivim__Dashboard__Enabled"] = "true" });
        var gateway = cluster.StartGateway("gateway", out var api, new() { ["Vivim__Management__Urls"] = gatewayManagement.ToString(), ["Vivim__Dashboard__Enabled"] = "true" });
        await silo.WaitStartedAsync(TimeSpan.FromSeconds(90));
        await gateway.WaitStartedAsync(TimeSpan.FromSeconds(90));

        foreach (var path in new[] { "/metrics", "/status", "/dashboard/" })
        {
            var (status, _, response) = await ManagementPort.GetAsync(siloManagement, path);
            response.Dispose();
            Assert.Equal(HttpStatusCode.Unauthorized, status);
        }

        var families = await ManagementPort.ScrapeAsync(siloManagement);
        Assert.Equal("GAUGE", families["orleans_catalog_activations"]);
        var (_, text, metricsResponse) = await ManagementPort.GetAsync(siloManagement, "/metrics", new AuthenticationHeaderValue("Bearer", GatewayFixture.TestOperatorKey));
        metricsResponse.Dispose();
        Assert.Contains(text.Split('\n'), line => line.StartsWith("vivim_log_errors_total{", StringComparison.Ordinal) && line.Contains("backend=\"postgresql\"", StringComparison.Ordinal));
        Assert.Contains("service_name=\"vivim-worker\"", text, StringComparison.Ordinal);

        // Both members, from either side; the silo's own answer names it as the worker.
        await Until.TrueAsync(
            async () => (await ManagementPort.StatusAsync(siloManagement))["members"]!.AsArray().Count(m => m!["status"]!.GetValue<string>() == "Active") == 2,
            () => "the silo's status does not list two active members");
        var siloStatus = await ManagementPort.StatusAsync(siloManagement);
        Assert.Equal("worker", siloStatus["role"]!.GetValue<string>());

        var basic = ManagementPort.Basic("operator", GatewayFixture.TestOperatorKey);
        JsonArray hosts = [];
        await Until.TrueAsync(
            async () =>
            {
                var (status, body, response) = await ManagementPort.GetAsync(gatewayManagement, "/dashboard/DashboardCounters", basic);
                response.Dispose();
                hosts = status == HttpStatusCode.OK ? JsonNode.Parse(body)!["hosts"]!.AsArray() : [];
                return hosts.Count(h => h!["status"]!.GetValue<string>() == "Active") == 2;
            },
            () => $"the dashboard does not list both silos: {hosts.ToJsonString()}");
        Assert.Equal(
            siloStatus["members"]!.AsArray().Select(m => m!["address"]!.GetValue<string>()).Order(StringComparer.Ordinal),
            hosts.Select(h => h!["siloAddress"]!.GetValue<string>()).Order(StringComparer.Ordinal));

        // Each member's own figures, asked of that member: commits land wherever the DIDs' anchors were placed, and
        // the cluster's sum is the same from either port.
        var gatewayApi = GatewayFixture.At(api);
        var (_, apiKey) = await gatewayApi.CreateTenantAsync("status");
        var before = (await ManagementPort.StatusAsync(siloManagement))["cluster"]!["commits"]!.GetValue<long>();
        for (var i = 0; i < 6; i++)
        {
            var did = await gatewayApi.CreateExitNodeAsync(apiKey);
            await GatewayTestKit.WriteAsync(gatewayApi, apiKey, did, ($"memoryIndex/status/{i}", "{}"));
        }

        var fromSilo = await ManagementPort.StatusAsync(siloManagement);
        var fromGateway = await ManagementPort.StatusAsync(gatewayManagement);
        foreach (var status in new[] { fromSilo, fromGateway })
        {
            var sum = status["cluster"]!;
            Assert.Equal(2, sum["membersReporting"]!.GetValue<int>());
            var members = status["members"]!.AsArray().Where(m => m!["status"]!.GetValue<string>() == "Active").ToList();
            Assert.All(members, m => Assert.NotNull(m!["figures"]));
            Assert.Equal(sum["commits"]!.GetValue<long>(), members.Sum(m => m!["figures"]!["commits"]!.GetValue<long>()));
            Assert.Equal(status["process"]!["commits"]!.GetValue<long>(), members.Single(m => m!["local"]!.GetValue<bool>())!["figures"]!["commits"]!.GetValue<long>());
        }

        Assert.True(fromSilo["cluster"]!["commits"]!.GetValue<long>() >= before + 6, fromSilo.ToJsonString());
        Assert.Equal(fromSilo["cluster"]!["commits"]!.GetValue<long>(), fromGateway["cluster"]!["commits"]!.GetValue<long>());

        // The public API's port of the gateway serves none of it.
        var (publicStatus, _, publicResponse) = await ManagementPort.GetAsync(api, "/metrics", new AuthenticationHeaderValue("Bearer", GatewayFixture.TestOperatorKey));
        publicResponse.Dispose();
        Assert.Equal(HttpStatusCode.NotFound, publicStatus);
    }

    [Fact]
    public async Task A_silo_asked_for_a_management_port_without_an_operator_key_refuses_to_start()
    {
        await using var cluster = new ClusterProcesses(_database.ConnectionString);
        var silo = cluster.StartSilo("silo", new() { ["Vivim__Management__Urls"] = $"http://127.0.0.1:{FreePort.Next()}", ["Vivim__OperatorKey"] = string.Empty });
        Assert.Equal(1, await silo.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("vivim silo: ", silo.Output, StringComparison.Ordinal);
        Assert.Contains("Vivim:OperatorKey is not set", silo.Output, StringComparison.Ordinal);
    }
}
