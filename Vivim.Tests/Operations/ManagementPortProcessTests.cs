using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Vivim.Tests.Cli;
using Vivim.Tests.Gateway;
using Vivim.Tests.Support;
using static Vivim.Tests.Gateway.GatewayTestKit;

namespace Vivim.Tests.Operations;

/// <summary>
/// The management port of a real gateway process: the operator key on every route, nothing of it on the public port,
/// a /metrics that an independent parser reads with every name the dashboard and the alert rules use, the Orleans
/// dashboard listing the silos, and <c>vivim status</c> reading it.
/// </summary>
public sealed class ManagementPortProcessTests(ManagementGatewayProcess node) : IClassFixture<ManagementGatewayProcess>
{
    private static readonly string[] ManagementPaths = ["/metrics", "/status", "/dashboard", "/dashboard/", "/dashboard/DashboardCounters", "/dashboard/ClusterStats", "/dashboard/GrainTypes", "/dashboard/GrainState?grainId=x&grainType=y", "/nothing-here"];

    [Fact]
    public async Task Every_management_route_refuses_a_request_without_the_operator_key_or_with_a_wrong_one()
    {
        var refusals = new (string Name, AuthenticationHeaderValue? Authorization)[]
        {
            ("no key", null),
            ("a wrong bearer", new AuthenticationHeaderValue("Bearer", "not-the-operator-key-0123456789")),
            ("the key with a prefix", new AuthenticationHeaderValue("Bearer", "x" + GatewayFixture.TestOperatorKey)),
            ("a wrong Basic password", ManagementPort.Basic("operator", "not-the-operator-key-0123456789")),
            ("the key as the Basic user name", ManagementPort.Basic(GatewayFixture.TestOperatorKey, string.Empty)),
            ("Basic that is not base64", new AuthenticationHeaderValue("Basic", "%%%")),
            ("another scheme", new AuthenticationHeaderValue("Digest", GatewayFixture.TestOperatorKey)),
            ("an oversized header", new AuthenticationHeaderValue("Bearer", new string('k', 4000))),
        };
        foreach (var path in ManagementPaths)
        {
            foreach (var (name, authorization) in refusals)
            {
                var (status, body, response) = await ManagementPort.GetAsync(node.Management, path, authorization);
                using (response)
                {
                    Assert.True(status == HttpStatusCode.Unauthorized, $"{path} with {name}: {(int)status} {body}");
                    Assert.Contains(response.Headers.WwwAuthenticate, c => c.Scheme == "Basic" && c.Parameter!.Contains("Vivim management", StringComparison.Ordinal));
                    Assert.DoesNotContain(GatewayFixture.TestOperatorKey, body, StringComparison.Ordinal);
                    Assert.DoesNotContain("orleans", body, StringComparison.OrdinalIgnoreCase);
                }
            }
        }
    }

    [Fact]
    public async Task The_public_port_serves_none_of_the_management_routes_even_with_the_key()
    {
        foreach (var path in ManagementPaths)
        {
            var (status, body, response) = await ManagementPort.GetAsync(node.BaseAddress, path, new AuthenticationHeaderValue("Bearer", GatewayFixture.TestOperatorKey));
            response.Dispose();
            Assert.True(status == HttpStatusCode.NotFound, $"{path} on the public port: {(int)status} {body}");
            Assert.DoesNotContain("vivim_", body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task With_the_key_the_dashboard_lists_the_clusters_silos_and_status_names_them()
    {
        var status = await ManagementPort.StatusAsync(node.Management);
        var member = Assert.Single(status["members"]!.AsArray())!;
        Assert.Equal("Active", member["status"]!.GetValue<string>());
        Assert.True(member["local"]!.GetValue<bool>());
        Assert.Equal("gateway", status["role"]!.GetValue<string>());
        Assert.True(status["activations"]!.GetValue<int>() > 0);

        // A browser signs in with Basic authentication (any user name, the key as the password).
        var basic = ManagementPort.Basic("operator", GatewayFixture.TestOperatorKey);
        var (page, html, pageResponse) = await ManagementPort.GetAsync(node.Management, "/dashboard/", basic);
        using (pageResponse)
        {
            Assert.Equal(HttpStatusCode.OK, page);
            Assert.Equal("text/html", pageResponse.Content.Headers.ContentType?.MediaType);
            Assert.True(pageResponse.Headers.CacheControl?.NoStore, pageResponse.Headers.CacheControl?.ToString());
            Assert.Contains("<html", html, StringComparison.OrdinalIgnoreCase);
        }

        JsonArray hosts = [];
        await Until.TrueAsync(
            async () =>
            {
                var (code, body, response) = await ManagementPort.GetAsync(node.Management, "/dashboard/DashboardCounters", basic);
                response.Dispose();
                hosts = code == HttpStatusCode.OK ? JsonNode.Parse(body)!["hosts"]!.AsArray() : [];
                return hosts.Count > 0;
            },
            () => "the dashboard lists no silo");
        var host = Assert.Single(hosts)!;
        Assert.Equal(member["name"]!.GetValue<string>(), host["siloName"]!.GetValue<string>());
        Assert.Equal(member["address"]!.GetValue<string>(), host["siloAddress"]!.GetValue<string>());
        Assert.Equal("Active", host["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Metrics_from_the_gateway_process_parse_as_prometheus_text_with_every_name_the_dashboard_and_alert_rules_use()
    {
        // Work that makes each instrument record: a write, a refused update, a registration (challenged, then
        // approved), a clone's live session with a delivery and an ack.
        var api = node.Api;
        var (_, apiKey) = await api.CreateTenantAsync();
        var did = await api.CreateExitNodeAsync(apiKey);
        await WriteAsync(api, apiKey, did, ("memoryIndex/a", "1"));
        using (var http = api.CreateClient(apiKey))
        using (var refused = await http.PostAsync($"/v1/exit-nodes/{did}/updates", GatewayFixture.Json(new JsonObject
        {
            ["updates"] = new JsonArray(new JsonObject { ["type"] = "memory", ["operation"] = "update", ["path"] = "memoryIndex/none", ["data"] = 1 }),
        })))
        {
            Assert.False(refused.IsSuccessStatusCode);
        }

        var clone = await RegisterAsync(api, did);
        using (var socket = await SyncSocketTests.ConnectAsync(api, clone))
        {
            await SyncSocketTests.SendAsync(socket, new JsonObject { ["type"] = "hello", ["cursor"] = 0 });
            Assert.Equal("welcome", (await SyncSocketTests.ReceiveAsync(socket))!["type"]!.GetValue<string>());
            await TelemetryPipelineTests.AckBatchesUntilAsync(socket, 1); // the backlog
            await WriteAsync(api, apiKey, did, ("memoryIndex/b", "2"));
            await TelemetryPipelineTests.AckBatchesUntilAsync(socket, 2); // a live batch

            // Scraped while the session is open (the gauges of live sessions).
            var families = await ManagementPort.ScrapeAsync(node.Management);
            Assert.Equal("COUNTER", families["vivim_updates_committed_total"]);
            Assert.Equal("HISTOGRAM", families["vivim_commit_duration_seconds"]);
            Assert.Equal("HISTOGRAM", families["vivim_log_append_duration_seconds"]);
            Assert.Equal("GAUGE", families["vivim_sync_sessions"]);

            var missing = ManagementPort.ObservabilityExpressions()
                .SelectMany(e => ManagementPort.MetricNames(e.Expression).Select(name => (e.File, name)))
                .Where(u => u.name != "up" && !ManagementPort.IsExported(u.name, families)) // up: Prometheus' own, per target
                .Select(u => $"{u.File}: {u.name}")
                .Distinct()
                .ToList();
            Assert.True(missing.Count == 0, "not exported:\n" + string.Join("\n", missing) + "\n\nexported: " + string.Join(", ", families.Keys.Order()));
            Assert.True(ManagementPort.ObservabilityExpressions().Count() >= 25, "the files hold fewer expressions than the dashboard's panels and the rules");
        }
    }

    [Fact]
    public async Task Vivim_status_prints_the_members_and_this_nodes_figures_and_watches()
    {
        using var vivim = new VivimSandbox();
        var once = await vivim.RunAsync("status", "--management", node.Management.ToString(), "--operator-key", GatewayFixture.TestOperatorKey);
        Assert.True(once.ExitCode == 0, once.ToString());
        var status = await ManagementPort.StatusAsync(node.Management);
        Assert.Contains(status["silo"]!.GetValue<string>(), once.Stdout, StringComparison.Ordinal);
        Assert.Contains("Active", once.Stdout, StringComparison.Ordinal);
        Assert.Contains("commit rate", once.Stdout, StringComparison.Ordinal);
        Assert.Contains("connected clones", once.Stdout, StringComparison.Ordinal);

        var watched = await vivim.RunAsync("status", "--management", node.Management.ToString(), "--operator-key", GatewayFixture.TestOperatorKey, "--watch", "--interval", "0.2", "--times", "3");
        Assert.True(watched.ExitCode == 0, watched.ToString());
        Assert.Contains("/s", watched.Stdout, StringComparison.Ordinal);

        var refused = await vivim.RunAsync("status", "--management", node.Management.ToString(), "--operator-key", "not-the-operator-key-0123456789");
        refused.AssertErrorLine(1, "refused the operator key", node.Management.ToString());
    }
}
