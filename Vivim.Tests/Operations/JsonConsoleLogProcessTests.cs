using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Vivim.Tests.Support;

namespace Vivim.Tests.Operations;

/// <summary>
/// The container log format (<c>Logging:Console:FormatterName=json</c>) of a gateway process: one JSON object a line,
/// secrets of the query masked by the redacting logger as in the plain format, and each request's lines carrying the
/// trace id its caller sent.
/// </summary>
public sealed class JsonConsoleLogProcessTests
{
    [Fact]
    public async Task Json_log_lines_mask_query_secrets_and_carry_the_callers_trace_id()
    {
        var data = Path.Combine(Path.GetTempPath(), "vivim-json-log-" + Guid.NewGuid().ToString("N")[..12]);
        var api = new Uri("http://127.0.0.1:" + FreePort.Next().ToString(CultureInfo.InvariantCulture));
        try
        {
            await using var node = HostProcess.Start(
                "Vivim.Gateway",
                ["--urls", api.ToString(), "--Vivim:DataPath", data, "--Vivim:SiloPort", FreePort.Next().ToString(CultureInfo.InvariantCulture), "--Vivim:GatewayPort", FreePort.Next().ToString(CultureInfo.InvariantCulture)],
                new Dictionary<string, string>
                {
                    ["Logging__Console__FormatterName"] = "json",
                    ["Logging__LogLevel__Microsoft.AspNetCore.Hosting.Diagnostics"] = "Information",
                    ["Vivim__Telemetry__Traces"] = "true",
                    ["Vivim__Telemetry__SampleRatio"] = "1",
                },
                "gateway (json log)");
            await node.WaitStartedAsync(TimeSpan.FromSeconds(90));

            var traceId = ActivityTraceId.CreateRandom().ToString();
            using (var http = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = null }) { BaseAddress = api })
            using (var request = new HttpRequestMessage(HttpMethod.Get, "/v1/exit-nodes/did:key:z6MkNothingHere?ticket=SECRET-TICKET-0123&api_key=SECRET-KEY-4567"))
            {
                request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
                using var response = await http.SendAsync(request);
            }

            await node.WaitForOutputAsync("Request finished", TimeSpan.FromSeconds(30));
            var output = node.Output;
            Assert.DoesNotContain("SECRET-TICKET-0123", output, StringComparison.Ordinal);
            Assert.DoesNotContain("SECRET-KEY-4567", output, StringComparison.Ordinal);
            Assert.DoesNotContain(GatewayFixture.TestOperatorKey, output, StringComparison.Ordinal);

            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.StartsWith('{')).ToList();
            Assert.NotEmpty(lines);
            var entries = lines.Select(l => JsonDocument.Parse(l).RootElement).ToList(); // each line one JSON object
            var starting = entries.Single(e => e.GetProperty("Message").GetString()!.StartsWith("Request starting", StringComparison.Ordinal)
                && e.GetProperty("Message").GetString()!.Contains("did:key:z6MkNothingHere", StringComparison.Ordinal));
            Assert.Contains("ticket=REDACTED", starting.GetProperty("Message").GetString(), StringComparison.Ordinal);
            Assert.Contains(
                starting.GetProperty("Scopes").EnumerateArray(),
                scope => scope.ValueKind == JsonValueKind.Object && scope.TryGetProperty("TraceId", out var id) && id.GetString() == traceId);
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
