using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Vivim.Tests.Gateway;
using Vivim.Tests.Support;
using static Vivim.Tests.Gateway.GatewayTestKit;

namespace Vivim.Tests.Operations;

/// <summary>
/// What an owner write and a clone's delivery leave in the exporters: the commit metrics, one trace from the HTTP
/// request through the exit node and the anchor to the log append (continuing the caller's W3C trace context), the
/// delivery and lag metrics; and nothing that names a DID or clone in a metric, nor a secret in a span.
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed class TelemetryPipelineTests(TelemetryGateway telemetry)
{
    private GatewayFixture Gateway => telemetry.Gateway;

    [Fact]
    public async Task An_owner_write_produces_the_commit_metrics_and_one_trace_from_the_request_to_the_log_append()
    {
        var (_, apiKey) = await Gateway.CreateTenantAsync();
        var did = await Gateway.CreateExitNodeAsync(apiKey);
        var before = telemetry.Metrics();

        // The caller's trace context: a sampled traceparent the whole write must continue.
        var traceId = ActivityTraceId.CreateRandom();
        var callerSpan = ActivitySpanId.CreateRandom();
        // A handler that sends the header as set: this process's HttpClient instrumentation (the gateway runs here)
        // would otherwise start a client span and propagate that instead.
        using var http = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = null }) { BaseAddress = Gateway.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/exit-nodes/{did}/updates")
        {
            Content = GatewayFixture.Json(new JsonObject
            {
                ["updates"] = new JsonArray(
                    new JsonObject { ["type"] = "memory", ["operation"] = "create", ["path"] = "memoryIndex/a", ["data"] = 1 },
                    new JsonObject { ["type"] = "memory", ["operation"] = "create", ["path"] = "memoryIndex/b", ["data"] = 2 }),
            }),
        };
        request.Headers.TryAddWithoutValidation("traceparent", $"00-{traceId}-{callerSpan}-01");
        using (var response = await http.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var after = telemetry.Metrics();
        Assert.Equal(2, TelemetryGateway.Sum(after, "vivim.updates.committed") - TelemetryGateway.Sum(before, "vivim.updates.committed"));
        Assert.Equal(1, TelemetryGateway.Sum(after, "vivim.commits") - TelemetryGateway.Sum(before, "vivim.commits"));
        Assert.Equal(1, TelemetryGateway.Count(after, "vivim.commit.duration") - TelemetryGateway.Count(before, "vivim.commit.duration"));
        Assert.Equal(1, TelemetryGateway.Count(after, "vivim.commit.batch_size") - TelemetryGateway.Count(before, "vivim.commit.batch_size"));
        Assert.Equal(1, TelemetryGateway.Count(after, "vivim.log.append.duration", ("backend", "sqlite")) - TelemetryGateway.Count(before, "vivim.log.append.duration", ("backend", "sqlite")));

        // One trace, the caller's: the HTTP server span under the caller's span, the exit node's and the anchor's grain
        // calls under it, the log append under the anchor.
        List<Activity> trace = [];
        await Until.TrueAsync(
            () =>
            {
                trace = [.. telemetry.Spans.Where(s => s.TraceId == traceId)];
                return trace.Any(s => s.DisplayName == "vivim.log.append") && trace.Any(s => s.Kind == ActivityKind.Server && s.ParentSpanId == callerSpan);
            },
            () => $"the write's spans did not all arrive: {Describe(trace)}; spans of the route: {Describe(telemetry.Spans.Where(s => s.DisplayName.Contains("updates", StringComparison.Ordinal)))}");
        var server = trace.Single(s => s.Kind == ActivityKind.Server && s.ParentSpanId == callerSpan);
        Assert.Equal("POST /v1/exit-nodes/{did}/updates", server.DisplayName);
        var append = trace.Single(s => s.DisplayName == "vivim.log.append");
        Assert.Equal("sqlite", append.GetTagItem("db.system.name"));
        var ancestry = Ancestry(append, trace);
        Assert.True(ancestry.Count >= 3, Describe(trace));
        Assert.Equal(server.SpanId, ancestry[^1].SpanId);
        Assert.Contains(ancestry, s => s.DisplayName.Contains("IAnchorStateGrain", StringComparison.Ordinal));
        Assert.Contains(ancestry, s => s.DisplayName.Contains("IExitNodeGrain", StringComparison.Ordinal));
        var anchorIndex = ancestry.FindIndex(s => s.DisplayName.Contains("IAnchorStateGrain", StringComparison.Ordinal));
        var exitNodeIndex = ancestry.FindIndex(s => s.DisplayName.Contains("IExitNodeGrain", StringComparison.Ordinal));
        Assert.True(anchorIndex < exitNodeIndex, $"the anchor's call is not under the exit node's: {Describe(ancestry)}");
    }

    [Fact]
    public async Task A_clones_websocket_delivery_adds_to_deliveries_delivery_latency_and_lag_and_no_metric_names_a_did_or_clone()
    {
        var (_, apiKey) = await Gateway.CreateTenantAsync();
        var did = await Gateway.CreateExitNodeAsync(apiKey);
        var clone = await RegisterAsync(Gateway, did);
        await WriteAsync(Gateway, apiKey, did, ("memoryIndex/backlog", "1"));
        var before = telemetry.Metrics();

        using (var socket = await SyncSocketTests.ConnectAsync(Gateway, clone))
        {
            await SyncSocketTests.SendAsync(socket, new JsonObject { ["type"] = "hello", ["cursor"] = 0, ["maxBatchSize"] = 100, ["compression"] = false });
            Assert.Equal("welcome", (await SyncSocketTests.ReceiveAsync(socket))!["type"]!.GetValue<string>());
            var cursor = await AckBatchesUntilAsync(socket, 1);
            await Until.TrueAsync(() => Sessions() == 1, () => $"the session is not counted: {Sessions()}");

            // A live commit, delivered as it is pushed.
            await WriteAsync(Gateway, apiKey, did, ("memoryIndex/live", "2"));
            await AckBatchesUntilAsync(socket, cursor + 1);
            await socket.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        }

        var after = telemetry.Metrics();
        Assert.True(TelemetryGateway.Sum(after, "vivim.sync.deliveries", ("kind", "backlog")) > TelemetryGateway.Sum(before, "vivim.sync.deliveries", ("kind", "backlog")));
        Assert.True(TelemetryGateway.Sum(after, "vivim.sync.deliveries", ("kind", "live")) > TelemetryGateway.Sum(before, "vivim.sync.deliveries", ("kind", "live")));
        Assert.True(TelemetryGateway.Count(after, "vivim.sync.delivery.latency") > TelemetryGateway.Count(before, "vivim.sync.delivery.latency"));
        Assert.True(TelemetryGateway.Count(after, "vivim.sync.clone_lag") >= TelemetryGateway.Count(before, "vivim.sync.clone_lag") + 2);
        await Until.TrueAsync(() => Sessions() == 0, () => $"the closed session is still counted: {Sessions()}");

        // Bounded tags: no metric point of ours names the DID, the clone or the tenant.
        foreach (var metric in telemetry.Metrics().Values.Where(m => m.Name.StartsWith("vivim.", StringComparison.Ordinal)))
        {
            foreach (var point in metric.MetricPoints)
            {
                foreach (var (key, value) in TelemetryGateway.Tags(point))
                {
                    var text = value?.ToString() ?? string.Empty;
                    Assert.False(text.Contains("did:", StringComparison.Ordinal) || text.Contains(clone.CloneId, StringComparison.Ordinal), $"{metric.Name} {key}={text}");
                }
            }
        }

        long Sessions() => TelemetryGateway.Sum(telemetry.Metrics(), "vivim.sync.sessions");
    }

    [Fact]
    public async Task Spans_carry_neither_the_sync_ticket_of_the_query_nor_the_authorization_header()
    {
        var (_, apiKey) = await Gateway.CreateTenantAsync();
        var did = await Gateway.CreateExitNodeAsync(apiKey);
        var clone = await RegisterAsync(Gateway, did);
        using var http = Gateway.CreateClient();
        var (_, ticketBody) = await SendAsync(http, Gateway.Signed(clone.Key, HttpMethod.Post, $"/v1/clones/{clone.CloneId}/sync-ticket"));
        var ticket = ticketBody!["ticket"]!.GetValue<string>();

        using (var socket = new System.Net.WebSockets.ClientWebSocket())
        {
            await socket.ConnectAsync(SyncSocketTests.WebSocketUri(Gateway, $"/v1/clones/{clone.CloneId}/sync?ticket={ticket}"), CancellationToken.None);
            await SyncSocketTests.SendAsync(socket, new JsonObject { ["type"] = "hello", ["cursor"] = 0 });
            Assert.Equal("welcome", (await SyncSocketTests.ReceiveAsync(socket))!["type"]!.GetValue<string>());
            await socket.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        }

        using (var owner = Gateway.CreateClient(apiKey))
        using (var read = await owner.GetAsync($"/v1/exit-nodes/{did}?token=also-{ticket}"))
        {
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        }

        // Both requests' spans have ended (the upgrade's when the socket closed).
        await Until.TrueAsync(
            () => telemetry.Spans.Count(s => s.Kind == ActivityKind.Server && s.GetTagItem("url.path") is string path && path.Contains(clone.CloneId + "/sync", StringComparison.Ordinal)
                || s.GetTagItem("url.path") is string p && p == $"/v1/exit-nodes/{did}") >= 2,
            () => "the requests' spans did not arrive");
        foreach (var span in telemetry.Spans)
        {
            foreach (var (key, value) in span.TagObjects)
            {
                var text = value?.ToString() ?? string.Empty;
                Assert.False(text.Contains(ticket, StringComparison.Ordinal) || text.Contains(apiKey, StringComparison.Ordinal), $"{span.DisplayName}: {key}={text}");
                Assert.False(key.StartsWith("http.request.header.", StringComparison.Ordinal), $"{span.DisplayName}: {key}");
            }

            Assert.DoesNotContain(ticket, span.DisplayName, StringComparison.Ordinal);
        }
    }

    /// <summary>Reads batches, acknowledging each, until the cursor reaches <paramref name="seq"/>; returns the cursor.</summary>
    internal static async Task<long> AckBatchesUntilAsync(System.Net.WebSockets.ClientWebSocket socket, long seq)
    {
        long cursor = 0;
        while (cursor < seq)
        {
            var message = await SyncSocketTests.ReceiveAsync(socket) ?? throw new InvalidOperationException("The socket closed.");
            if (message["type"]!.GetValue<string>() == "batch")
            {
                cursor = (long)message["updates"]!.AsArray()[^1]!["seq"]!.GetValue<double>();
                await SyncSocketTests.SendAsync(socket, new JsonObject { ["type"] = "ack", ["seq"] = cursor });
            }
        }

        return cursor;
    }

    /// <summary>The span's parents within the trace, nearest first, ending at the trace's root here.</summary>
    private static List<Activity> Ancestry(Activity span, List<Activity> trace)
    {
        var chain = new List<Activity>();
        for (var current = trace.FirstOrDefault(s => s.SpanId == span.ParentSpanId); current is not null; current = trace.FirstOrDefault(s => s.SpanId == current.ParentSpanId))
        {
            chain.Add(current);
        }

        return chain;
    }

    private static string Describe(IEnumerable<Activity> spans) =>
        string.Join("; ", spans.Select(s => $"{s.DisplayName} [{s.Kind}] {s.SpanId}<-{s.ParentSpanId}"));
}
