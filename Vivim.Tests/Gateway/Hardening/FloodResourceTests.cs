using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Vivim.Gateway.Hosting;
using Vivim.Protocol.Identity;
using Vivim.Tenants;
using Vivim.Tests.Support;
using Xunit.Abstractions;

namespace Vivim.Tests.Gateway.Hardening;

/// <summary>
/// The hardening issue's attacks, replayed for a few seconds against a real gateway process at its default log levels:
/// memory, log growth and another tenant's latency must stay within stated bounds. Bounds are ratios to a baseline
/// measured in the same run or budgets far below what the unfixed gateway produced, so a loaded CI machine passes.
/// </summary>
[Collection(ResourceMeasurementCollection.Name)]
public sealed class FloodResourceTests(ITestOutputHelper output)
{
    /// <summary>Long enough for the per-address bucket (one second's worth) to empty and refill several times.</summary>
    private static readonly TimeSpan FloodDuration = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Concurrent flood requests: 4× the 2 cores of CI, which saturates the gateway (16 workers got no more through on
    /// 2 cores, only a longer queue, which is the victim's latency and not what this measures).
    /// </summary>
    private const int FloodWorkers = 8;

    /// <summary>
    /// RSS may grow this much over the flood. Measured on a 2-core machine: +21–36 MB fixed (the server GC's gen0 budget
    /// for the flood's garbage, nothing kept), +48 MB for the unfixed gateway in this same 5 s flood, 405 MB in the
    /// issue's 13 s one. In a flood this short the log bound is what catches the 60,000-character DIDs; this one catches
    /// retention: at the ~700–3,800 requests a run sends, 96 MB is 25–140 KB kept per request (the unfixed gateway's
    /// 60,000-character registrations cost ~145 KB each), while leaving 2.5× the worst garbage measured.
    /// </summary>
    private const long MaxRssGrowthBytes = 96L * 1024 * 1024;

    /// <summary>
    /// The log may grow this much. Denials are logged at Debug (off by default), so at the default levels the fixed
    /// gateway logs nothing during the flood (measured +0 bytes); the allowance is for a few unrelated lines (Orleans'
    /// slow-call warnings on a loaded machine). The unfixed gateway logged +8.6 MB in this flood: 130× the bound.
    /// </summary>
    private const int MaxLogGrowthBytes = 64 * 1024;

    /// <summary>
    /// The victim's p50 during the flood may be this many times its baseline p50, plus <see cref="LatencyAllowanceMs"/>.
    /// The flood shares 2 cores with the victim (and its own client runs on the same machine), so some slowdown is
    /// physics, not a defect. Measured read ratios: 3.4–7.5 fixed (7.5 at a load average of 13), 21–23 unfixed.
    /// </summary>
    private const double MaxLatencyRatio = 10;

    /// <summary>
    /// Absolute slack on top of the ratio: a baseline p50 of 2–6 ms is a few scheduler quanta, and one gen0 GC of the
    /// flood's garbage is already several times that. The unfixed reads (75 and 110 ms p50 over 3 and 5 ms) exceed
    /// ratio and slack; the fixed ones peaked at 22 ms over 2.9 ms (bound 54 ms) under that load.
    /// </summary>
    private const double LatencyAllowanceMs = 25;

    private const int Documents = 20;
    private const int BaselineRounds = 100;

    private static readonly IPAddress VictimAddress = IPAddress.Parse("127.0.0.1");

    /// <summary>Linux routes all of 127.0.0.0/8 to loopback: the flood has its own per-address bucket.</summary>
    private static readonly IPAddress FloodAddress = IPAddress.Parse("127.0.0.2");

    private static readonly string[] Kinds = ["long-did", "fresh-did", "unknown-did", "random-key", "oversize"];

    [Fact]
    public async Task A_flood_of_hostile_requests_keeps_memory_the_log_and_another_tenants_latency_within_bounds()
    {
        var data = Path.Combine(Path.GetTempPath(), "vivim-flood-" + Guid.NewGuid().ToString("N")[..12]);
        var port = FreePort.Next();
        var baseAddress = new Uri($"http://127.0.0.1:{port}");
        string[] arguments =
        [
            "--urls", baseAddress.ToString(),
            $"--Vivim:DataPath={data}",
            $"--Vivim:SiloPort={FreePort.Next()}",
            $"--Vivim:GatewayPort={FreePort.Next()}",
            $"--Vivim:ClusterId=flood-{port}",
        ];
        try
        {
            // The host's own default levels, as a production node logs: what the flood adds to that log is measured.
            await using var node = HostProcess.Start("Vivim.Gateway", arguments, name: "gateway", hostLogging: true);
            await node.WaitForOutputAsync(NodeReadyNotice.Heading, TimeSpan.FromSeconds(90));

            // Tenant A: an exit node with documents and a registered clone.
            var gateway = GatewayFixture.At(baseAddress);
            var (_, apiKey) = await gateway.CreateTenantAsync("victim");
            var did = await gateway.CreateExitNodeAsync(apiKey);
            var seeded = await GatewayTestKit.WriteAsync(gateway, apiKey, did, [.. Enumerable.Range(0, Documents).Select(i => ($"memoryIndex/doc{i}", $"{{\"marker\":\"doc-{i}\"}}"))]);
            Assert.Equal(Documents, seeded);
            var clone = await GatewayTestKit.RegisterAsync(gateway, did);

            using var victim = new HttpClient(BoundTo(VictimAddress, 1)) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
            victim.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
            var victimRun = new VictimRun(did, Documents);

            // Warm-up (JIT, connection, caches), then the baseline.
            await victimRun.MeasureAsync(victim, rounds: 20, CancellationToken.None);
            var baseline = await victimRun.MeasureAsync(victim, BaselineRounds, CancellationToken.None);

            var rssBefore = Rss(node.Id);
            var logBefore = Encoding.UTF8.GetByteCount(node.Output);

            // The flood, with the victim measured meanwhile.
            using var flood = new HttpClient(BoundTo(FloodAddress, FloodWorkers)) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
            var tally = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
            var violations = new ConcurrentQueue<string>();
            using var stop = new CancellationTokenSource(FloodDuration);
            var clock = Stopwatch.StartNew();
            var workers = Enumerable.Range(0, FloodWorkers).Select(w => Task.Run(() => FloodAsync(flood, did, w, tally, violations, stop.Token))).ToList();
            var during = await victimRun.MeasureAsync(victim, int.MaxValue, stop.Token);
            await Task.WhenAll(workers);
            var floodSeconds = clock.Elapsed.TotalSeconds;

            // Sampled after the flood, once its requests have drained: what it left behind, not what is in flight.
            await Task.Delay(TimeSpan.FromSeconds(1));
            var rssAfter = Rss(node.Id);
            var logGrowth = Encoding.UTF8.GetByteCount(node.Output) - logBefore;
            var logAdded = node.Output.Length > logBefore ? node.Output[Math.Min(node.Output.Length, logBefore)..] : string.Empty;

            var floodRequests = tally.Values.Sum();
            output.WriteLine($"flood: {floodRequests} requests in {floodSeconds:F1} s ({floodRequests / floodSeconds:F0}/s) from {FloodAddress}, {FloodWorkers} workers");
            foreach (var (key, count) in tally.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                output.WriteLine($"  {key}: {count}");
            }

            output.WriteLine($"victim reads  p50/p90 ms: baseline {baseline.ReadP50:F2}/{baseline.ReadP90:F2} ({baseline.Reads.Count}), flood {during.ReadP50:F2}/{during.ReadP90:F2} ({during.Reads.Count}); ratio {during.ReadP50 / baseline.ReadP50:F1}");
            output.WriteLine($"victim writes p50/p90 ms: baseline {baseline.WriteP50:F2}/{baseline.WriteP90:F2} ({baseline.Writes.Count}), flood {during.WriteP50:F2}/{during.WriteP90:F2} ({during.Writes.Count}); ratio {during.WriteP50 / baseline.WriteP50:F1}");
            output.WriteLine($"RSS: {rssBefore / 1048576.0:F1} MB before, {rssAfter / 1048576.0:F1} MB after ({(rssAfter - rssBefore) / 1048576.0:+0.0;-0.0} MB; bound {MaxRssGrowthBytes / 1048576} MB)");
            output.WriteLine($"log: +{logGrowth} bytes (bound {MaxLogGrowthBytes})");

            // Every flood answer was a refusal the caller can read; none was a server error.
            Assert.True(violations.IsEmpty, "flood answers that were not 4xx problems:\n" + string.Join("\n", violations.Take(10)));
            Assert.True(floodRequests > 500, $"the flood sent only {floodRequests} requests: it measured nothing");

            // The victim was never refused, and was measured often enough to have a median.
            Assert.True(victimRun.Failures.IsEmpty, "the victim's requests failed during the flood:\n" + string.Join("\n", victimRun.Failures.Take(10)));
            Assert.True(during.Reads.Count >= 10 && during.Writes.Count >= 10, $"the victim got only {during.Reads.Count} reads and {during.Writes.Count} writes through in {FloodDuration.TotalSeconds} s");

            Assert.True(rssAfter - rssBefore < MaxRssGrowthBytes, $"RSS grew {(rssAfter - rssBefore) / 1048576.0:F1} MB over the flood (bound {MaxRssGrowthBytes / 1048576} MB)");
            Assert.True(logGrowth < MaxLogGrowthBytes, $"the log grew {logGrowth} bytes over the flood (bound {MaxLogGrowthBytes}):\n{Clip(logAdded)}");
            Assert.True(during.ReadP50 <= MaxLatencyRatio * baseline.ReadP50 + LatencyAllowanceMs, $"the victim's read p50 went from {baseline.ReadP50:F2} ms to {during.ReadP50:F2} ms");
            Assert.True(during.WriteP50 <= MaxLatencyRatio * baseline.WriteP50 + LatencyAllowanceMs, $"the victim's write p50 went from {baseline.WriteP50:F2} ms to {during.WriteP50:F2} ms");

            // A's data is intact: every document reads back, the head is exactly the writes acknowledged, the clone stands.
            for (var i = 0; i < Documents; i++)
            {
                var document = JsonNode.Parse(await victim.GetStringAsync($"/v1/exit-nodes/{did}/documents/memoryIndex/doc{i}"))!;
                Assert.Contains($"\"marker\":\"doc-{i}\"", document["document"]!.ToJsonString(), StringComparison.Ordinal);
            }

            var exitNode = JsonNode.Parse(await victim.GetStringAsync($"/v1/exit-nodes/{did}"))!;
            Assert.Equal(Documents + victimRun.WritesAcknowledged, exitNode["headSeq"]!.GetValue<long>());
            var clones = JsonNode.Parse(await victim.GetStringAsync($"/v1/exit-nodes/{did}/clones"))!["items"]!.AsArray();
            Assert.Equal(clone.CloneId, Assert.Single(clones)!["cloneId"]!.GetValue<string>());
            Assert.False(node.HasExited);
        }
        finally
        {
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>One flood worker: the issue's requests in turn, each answer checked and counted, until <paramref name="stop"/>.</summary>
    private static async Task FloodAsync(HttpClient flood, string victimDid, int worker, ConcurrentDictionary<string, int> tally, ConcurrentQueue<string> violations, CancellationToken stop)
    {
        var longDid = new string('a', 60_000 - 32);
        for (var n = worker; !stop.IsCancellationRequested; n++)
        {
            var kind = Kinds[n % Kinds.Length];
            using var request = kind switch
            {
                // Anonymous registration with a 60,000-character DID, a new one each time (one DID would soon meet the
                // per-DID registration limit): refused at the edge, never logged in full.
                "long-did" => Post($"/v1/exit-nodes/{victimDid}/register", Registration(Guid.NewGuid().ToString("N") + longDid, ExitNodeNonce(), "c", "p")),

                // A fresh, valid did:key with a 256-character nonce and a proof that does not verify: the node stores nothing.
                "fresh-did" => Post($"/v1/exit-nodes/{victimDid}/register", Registration(SigningKey.Generate().Did.Value, ExitNodeNonce(), Guid.NewGuid().ToString(), new string('p', 88))),

                // An advertisement of a DID nobody hosts: answered from the directory, no grain activated.
                "unknown-did" => new HttpRequestMessage(HttpMethod.Get, $"/v1/exit-nodes/{SigningKey.Generate().Did.Value}/advertisement"),

                // A well-formed API key of a tenant that does not exist.
                "random-key" => WithBearer(new HttpRequestMessage(HttpMethod.Get, "/v1/exit-nodes"), ApiKeyFormat.Compose(ApiKeyFormat.NewTenantId(), ApiKeyFormat.NewKeyId(), ApiKeyFormat.NewSecret())),

                // A body past the small-body bound (64 KiB) on a public route.
                _ => Post($"/v1/exit-nodes/{victimDid}/register", Registration(new string('b', 100_000), ExitNodeNonce(), "c", "p")),
            };

            try
            {
                using var response = await flood.SendAsync(request, CancellationToken.None);
                var status = (int)response.StatusCode;
                var mediaType = response.Content.Headers.ContentType?.MediaType;
                var body = await response.Content.ReadAsStringAsync(CancellationToken.None);
                tally.AddOrUpdate($"{kind} {status}", 1, (_, c) => c + 1);
                if (!IsRefusal(kind, status, mediaType, body))
                {
                    violations.Enqueue($"{kind}: {status} {mediaType} {Clip(body)}");
                }
            }
            catch (HttpRequestException e)
            {
                tally.AddOrUpdate($"{kind} transport-error", 1, (_, c) => c + 1);
                violations.Enqueue($"{kind}: {e.Message}");
            }
        }
    }

    /// <summary>
    /// A 4xx problem; or, for a registration that got as far as the exit node, the SDK's own denial (its
    /// CloneRegistrationResponse with <c>approved: false</c>, which the SDK reads), 403 or 429.
    /// </summary>
    private static bool IsRefusal(string kind, int status, string? mediaType, string body)
    {
        if (status is < 400 or >= 500)
        {
            return false;
        }

        if (mediaType == "application/problem+json")
        {
            return JsonNode.Parse(body)?["code"] is not null;
        }

        return kind == "fresh-did" && status is 403 or 429 && mediaType == "application/json"
            && JsonNode.Parse(body) is JsonObject denial && denial["approved"]?.GetValue<bool>() == false && denial["denialReason"] is not null;
    }

    private static JsonObject Registration(string did, string nonce, string challengeResponse, string proof) => new()
    {
        ["did"] = did,
        ["desiredCapabilities"] = new JsonArray("storage"),
        ["preferredNetwork"] = "mainnet",
        ["identityProof"] = proof,
        ["timestamp"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        ["nonce"] = nonce,
        ["challengeResponse"] = challengeResponse,
    };

    /// <summary>256 characters: the longest nonce the protocol accepts.</summary>
    private static string ExitNodeNonce() => string.Concat(Enumerable.Repeat(Guid.NewGuid().ToString("N"), 8));

    private static HttpRequestMessage Post(string target, JsonObject body) =>
        new(HttpMethod.Post, target) { Content = GatewayFixture.Json(body) };

    private static HttpRequestMessage WithBearer(HttpRequestMessage request, string bearer)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return request;
    }

    /// <summary>A handler whose connections leave from <paramref name="source"/>, so the gateway sees that client address.</summary>
    private static SocketsHttpHandler BoundTo(IPAddress source, int connections) => new()
    {
        MaxConnectionsPerServer = connections,
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(source, 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };

    /// <summary>The resident set of a process, from <c>/proc/&lt;pid&gt;/status</c>.</summary>
    private static long Rss(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        var kilobytes = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        return kilobytes * 1024;
    }

    private static string Clip(string text) => text.Length <= 2000 ? text : text[..2000] + $"… ({text.Length} characters)";
}
