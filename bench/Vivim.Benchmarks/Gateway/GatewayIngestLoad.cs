using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Vivim.Benchmarks.Cluster;
using Vivim.Client.Http;

namespace Vivim.Benchmarks.Gateway;

/// <summary>
/// Owner-write ingest over HTTP through the real gateway process on loopback: a tenant posts update batches to
/// <c>POST /v1/exit-nodes/{did}/updates</c> for many hosted exit nodes at once. Usage:
/// <c>dotnet run -c Release -- gateway-ingest [dids] [updatesPerDid] [batch] [concurrency] [reads]</c> (reads: how many
/// requests each read baseline sends per round, by default as many as there are batch requests and at least 10,000).
/// Prints updates/s and batch request latency next to two baselines of the same run: the Ed25519 verify bound of this
/// process's cores (measured before the gateway starts; the gateway then shares those cores), and a cheap
/// tenant-authenticated request (<c>GET /v1/exit-nodes/{did}</c>) at the same concurrency, which is the HTTP and
/// authentication cost that every write pays too. That read is itself measured against <c>GET /health/live</c> (no
/// authentication, no grain call) at the same concurrency: its rate as a share of the liveness rate (target at least
/// 50 %) and the gateway CPU per request of both, over five rounds in which the two alternate.
/// <c>-- gateway-ingest-telemetry [dids] [updatesPerDid] [batch] [concurrency] [rounds] [variants]</c> runs the same load
/// against a gateway with telemetry off and with each variant (default <c>off,on</c>: metrics and 10 % trace sampling,
/// scraped every 5 s; also <c>metrics</c> and <c>dashboard</c>), alternating, in one run, and prints the ratio of each
/// variant's rate to off's.
/// </summary>
/// <remarks>
/// Owner writes carry no signature from the client: the API takes <c>{type, operation, path, data, updateId}</c> and
/// the exit node signs each update with its hosted key (v1 and v2) before its anchor verifies the v2 proof — two
/// signatures and one verification per update, all in the gateway process. So the exit nodes are custodial, and what
/// is prepared before the timed phase is every request body, serialized once.
/// </remarks>
internal static class GatewayIngestLoad
{
    private const int WarmUpDids = 8;

    /// <summary>Reads per kind in each warm-up round: reads are cheap, and their hot paths need thousands of calls before they are recompiled for good.</summary>
    private const int ReadWarmUp = 1000;

    /// <summary>
    /// With 3 rounds the gateway was still spending about a tenth of its CPU in the JIT during the measured run (tiered
    /// compilation promotes hot methods through an instrumented tier first), which is start-up, not the steady cost.
    /// </summary>
    private const int WarmUpRounds = 10;

    public static async Task<int> RunAsync(string[] args)
    {
        int Arg(int i, int fallback) => args.Length > i ? int.Parse(args[i], CultureInfo.InvariantCulture) : fallback;
        var dids = Arg(1, 64);
        var perDid = Arg(2, 1000);
        var batchSize = Arg(3, 50);
        var concurrency = Arg(4, 16);
        var reads = Arg(5, 0);

        if (GatewayProcess.MissingGateway() is { } missing)
        {
            Console.Error.WriteLine("gateway-ingest: " + missing);
            return 1;
        }

        var bound = IngestLoad.MeasureVerifyBound(TimeSpan.FromSeconds(3));
        Console.WriteLine($"Ed25519 verify bound (all {Environment.ProcessorCount} cores of this process, before the gateway starts): {bound:N0}/s");
        return await GatewayProcess.RunAsync("gateway-ingest", Settings(dids), async gateway => await MeasureAsync(gateway, bound, dids, perDid, batchSize, concurrency, reads));
    }

    /// <summary>
    /// The telemetry overhead: the same load against a gateway with telemetry off and one with metrics and 10 % trace
    /// sampling on, alternating <c>rounds</c> times, each on a fresh process and data directory.
    /// </summary>
    public static async Task<int> RunTelemetryComparisonAsync(string[] args)
    {
        int Arg(int i, int fallback) => args.Length > i ? int.Parse(args[i], CultureInfo.InvariantCulture) : fallback;
        var (dids, perDid, batchSize, concurrency, rounds) = (Arg(1, 32), Arg(2, 500), Arg(3, 50), Arg(4, 16), Arg(5, 2));
        var variants = (args.Length > 6 ? args[6] : "off,on").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (variants.FirstOrDefault(v => !TelemetryVariants.ContainsKey(v)) is { } unknown || variants.Length == 0 || variants[0] != "off")
        {
            Console.Error.WriteLine($"gateway-ingest-telemetry: variants are a comma-separated list starting with off, from {string.Join(", ", TelemetryVariants.Keys)}");
            return 2;
        }

        if (GatewayProcess.MissingGateway() is { } missing)
        {
            Console.Error.WriteLine("gateway-ingest-telemetry: " + missing);
            return 1;
        }

        var bound = IngestLoad.MeasureVerifyBound(TimeSpan.FromSeconds(3));
        var rates = variants.ToDictionary(v => v, _ => new List<Measured>(), StringComparer.Ordinal);
        for (var round = 0; round < rounds; round++)
        {
            foreach (var variant in variants)
            {
                var settings = Settings(dids);
                var (description, telemetry) = TelemetryVariants[variant];
                foreach (var (key, value) in telemetry)
                {
                    settings[key] = value;
                }

                var management = variant == "off" ? null : new Uri($"http://127.0.0.1:{GatewayProcess.FreePort().ToString(CultureInfo.InvariantCulture)}");
                settings["Vivim__Management__Urls"] = management?.ToString() ?? "none";
                Console.WriteLine($"--- round {round + 1}, {variant}: {description}");
                var code = await GatewayProcess.RunAsync("gateway-ingest-telemetry", settings, async gateway =>
                {
                    using var stop = new CancellationTokenSource();
                    var scraping = management is null ? Task.CompletedTask : ScrapeAsync(management, gateway.OperatorKey, stop.Token);
                    rates[variant].Add(await MeasureAsync(gateway, bound, dids, perDid, batchSize, concurrency));
                    await stop.CancelAsync();
                    await scraping;
                });
                if (code != 0)
                {
                    return code;
                }
            }
        }

        static string List(List<Measured> r) => string.Join(", ", r.Select(x => x.Rate.ToString("N0", CultureInfo.InvariantCulture)));
        static string Cpu(List<Measured> r) => string.Join(", ", r.Select(x => (x.CpuPerUpdate * 1e6).ToString("N0", CultureInfo.InvariantCulture)));
        var off = rates["off"].Average(m => m.Rate);
        var offCpu = rates["off"].Average(m => m.CpuPerUpdate);
        Console.WriteLine($"off: {List(rates["off"])} updates/s (mean {off:N0}); gateway CPU per update {Cpu(rates["off"])} µs (mean {offCpu * 1e6:N0})");
        foreach (var variant in variants.Skip(1))
        {
            var mean = rates[variant].Average(m => m.Rate);
            var cpu = rates[variant].Average(m => m.CpuPerUpdate);
            Console.WriteLine(
                $"{variant}: {List(rates[variant])} (mean {mean:N0}); {variant}/off = {mean / off:P1}" + (variant == "on" ? " (target: within 5 %)" : string.Empty) +
                $"; gateway CPU per update {Cpu(rates[variant])} µs (mean {cpu * 1e6:N0}), {cpu / offCpu:P1} of off's");
        }

        return 0;
    }

    /// <summary>
    /// What each variant turns on. The dashboard is off unless named: it is not telemetry, and the embedded node would
    /// start it with the management port (its grain-call profiler has a cost of its own, measured as <c>dashboard</c>).
    /// </summary>
    private static readonly Dictionary<string, (string Description, Dictionary<string, string> Settings)> TelemetryVariants = new(StringComparer.Ordinal)
    {
        ["off"] = ("telemetry off", new(StringComparer.Ordinal) { ["Vivim__Telemetry__Enabled"] = "false", ["Vivim__Dashboard__Enabled"] = "false" }),
        ["metrics"] = ("metrics only, /metrics scraped every 5 s", new(StringComparer.Ordinal)
        {
            ["Vivim__Telemetry__Enabled"] = "true", ["Vivim__Telemetry__Traces"] = "false", ["Vivim__Dashboard__Enabled"] = "false",
        }),
        ["on"] = ("metrics and 10 % of traces, /metrics scraped every 5 s", new(StringComparer.Ordinal)
        {
            ["Vivim__Telemetry__Enabled"] = "true", ["Vivim__Telemetry__Traces"] = "true", ["Vivim__Telemetry__SampleRatio"] = "0.1",
            ["Vivim__Dashboard__Enabled"] = "false",
        }),
        ["dashboard"] = ("as on, plus the Orleans dashboard", new(StringComparer.Ordinal)
        {
            ["Vivim__Telemetry__Enabled"] = "true", ["Vivim__Telemetry__Traces"] = "true", ["Vivim__Telemetry__SampleRatio"] = "0.1",
            ["Vivim__Dashboard__Enabled"] = "true",
        }),
    };

    /// <summary>Scrapes /metrics as Prometheus would, until stopped.</summary>
    private static async Task ScrapeAsync(Uri management, string operatorKey, CancellationToken stop)
    {
        using var http = new HttpClient { BaseAddress = management };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", operatorKey);
        try
        {
            while (!stop.IsCancellationRequested)
            {
                using (var response = await http.GetAsync(new Uri("/metrics", UriKind.Relative), stop))
                {
                    response.EnsureSuccessStatusCode();
                }

                await Task.Delay(TimeSpan.FromSeconds(5), stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    // The gateway's buckets are raised out of the way: this measures capacity, not the limiter.
    internal static Dictionary<string, string> Settings(int dids) => new(StringComparer.Ordinal)
    {
        ["Vivim__RateLimits__PerAddressPerSecond"] = "1000000",
        ["Vivim__RateLimits__PerDidPerSecond"] = "1000000",
        ["Vivim__Tenants__MaxExitNodes"] = (dids + WarmUpDids).ToString(CultureInfo.InvariantCulture),
        ["Vivim__Tenants__UpdatesPerSecond"] = "10000000",
        ["Vivim__Tenants__RequestsPerSecond"] = "1000000",
    };

    /// <returns>The updates per second of the measured run.</returns>
    private static async Task<Measured> MeasureAsync(GatewayProcess gateway, double bound, int dids, int perDid, int batchSize, int concurrency, int reads = 0)
    {
        var started = Stopwatch.StartNew();
        using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) }) { Timeout = TimeSpan.FromMinutes(2) };
        using var operatorClient = new OperatorClient(gateway.BaseAddress, gateway.OperatorKey, http);
        var (_, apiKey) = await operatorClient.CreateTenantAsync("gateway-ingest");
        using var tenant = new TenantClient(gateway.BaseAddress, apiKey, http);
        var auth = new AuthenticationHeaderValue("Bearer", apiKey);

        var warmUp = await CreateExitNodesAsync(tenant, WarmUpDids);
        var measured = await CreateExitNodesAsync(tenant, dids);
        var requests = Batches(gateway.BaseAddress, measured, perDid, batchSize, "notes");
        var gets = Gets(gateway.BaseAddress, measured, reads > 0 ? reads : Math.Max(10_000, requests.Count));
        var lives = Lives(gateway.BaseAddress, gets.Count);
        Console.WriteLine($"Created {dids} exit nodes (+{WarmUpDids} for warm-up) and serialized {dids * perDid:N0} updates in {started.Elapsed.TotalSeconds:0.0} s");

        // Warm up both request kinds until the JIT of both processes has settled (tiered compilation recompiles hot paths).
        var (rounds, compilerShare) = await gateway.WarmUpAsync(WarmUpRounds, async round =>
        {
            await RunAsync(http, Batches(gateway.BaseAddress, warmUp, 200, batchSize, $"warm-up-{round}"), concurrency, auth);
            await RunAsync(http, Gets(gateway.BaseAddress, warmUp, ReadWarmUp), concurrency, auth);
            await RunAsync(http, Lives(gateway.BaseAddress, ReadWarmUp), concurrency, auth);
        });
        Console.WriteLine($"  warm-up: {rounds} rounds, the runtime's compiler {GatewayProcess.FormatShare(compilerShare)} of the gateway's CPU in the last");

        Console.WriteLine($"  gateway idle before measuring: {await gateway.SettleAsync():0.00} cores busy");

        var headBefore = await HeadSeqSumAsync(tenant, measured);
        Console.WriteLine($"Warmed up; measuring GET /health/live, then GET /v1/exit-nodes/{{did}}, then the writes ({started.Elapsed.TotalSeconds:0.0} s)");
        var (compilerBefore, gatewayBefore) = (gateway.CompilerCpuTime, gateway.CpuTime);
        // The two request kinds alternate in rounds: one pass of each lasts under a second here, and a hiccup in
        // either moved their ratio by a third from one invocation to the next. Rates and CPU are over all rounds.
        var live = new Phase();
        var baseline = new Phase();
        var ratios = new List<double>(ReadRounds);
        for (var round = 1; round <= ReadRounds; round++)
        {
            // Each phase announces itself, so that a profiler attached to the gateway can take one phase alone.
            Console.WriteLine($"  round {round} of {ReadRounds}: GET /health/live ({started.Elapsed.TotalSeconds:0.0} s)");
            var liveRound = await live.RunAsync(gateway, () => RunAsync(http, lives, concurrency, auth));
            Console.WriteLine($"  round {round} of {ReadRounds}: GET /v1/exit-nodes/{{did}} ({started.Elapsed.TotalSeconds:0.0} s)");
            var getRound = await baseline.RunAsync(gateway, () => RunAsync(http, gets, concurrency, auth));
            ratios.Add(liveRound.TotalSeconds / getRound.TotalSeconds * gets.Count / lives.Count);
        }

        Console.WriteLine($"  reads done; the writes start ({started.Elapsed.TotalSeconds:0.0} s)");
        var cpu = new CpuShare(gateway);
        var run = await RunAsync(http, requests, concurrency, auth);
        var runCpu = cpu.Measure();
        var compilerWhileMeasured = gateway.CompilerShareSince(compilerBefore, gatewayBefore);

        // Every update committed exactly once: the heads moved by the number of updates sent.
        var updates = requests.Sum(r => r.Updates);
        var cpuPerUpdate = runCpu.Gateway * run.Elapsed.TotalSeconds / updates;
        var verifyCost = Environment.ProcessorCount / bound;
        var moved = await HeadSeqSumAsync(tenant, measured) - headBefore;
        if (moved != updates)
        {
            throw new InvalidOperationException($"{updates} updates sent but the exit nodes' heads moved by {moved}.");
        }

        var rate = updates / run.Elapsed.TotalSeconds;
        var write = new Percentiles(run.LatenciesMs);
        var get = new Percentiles([.. baseline.Latencies]);
        Console.WriteLine(
            $"{dids} DIDs x {perDid} updates, batches of {batchSize}, {concurrency} concurrent requests: {updates:N0} updates in {run.Elapsed.TotalSeconds:0.00} s = {rate:N0} updates/s = {rate / bound:P0} of the verify bound; " +
            $"batch request p50 {write.P50:0.0} ms, p99 {write.P99:0.0} ms; gateway CPU {cpuPerUpdate * 1e6:N0} µs per update = {cpuPerUpdate / verifyCost:0.0} verifications' worth; {runCpu}");
        Console.WriteLine(
            $"baseline GET /v1/exit-nodes/{{did}}, {concurrency} concurrent, {ReadRounds} rounds: {get.Count:N0} requests in {baseline.Elapsed.TotalSeconds:0.00} s = {get.Count / baseline.Elapsed.TotalSeconds:N0} requests/s, p50 {get.P50:0.0} ms, p99 {get.P99:0.0} ms; gateway CPU {baseline.GatewayCores:0.00} cores");
        var liveRate = live.Latencies.Count / live.Elapsed.TotalSeconds;
        var getRate = get.Count / baseline.Elapsed.TotalSeconds;
        var liveLatency = new Percentiles([.. live.Latencies]);
        Console.WriteLine(
            $"GET /health/live, {concurrency} concurrent, {ReadRounds} rounds: {live.Latencies.Count:N0} requests in {live.Elapsed.TotalSeconds:0.00} s = {liveRate:N0} requests/s, p50 {liveLatency.P50:0.0} ms, p99 {liveLatency.P99:0.0} ms; gateway CPU {live.GatewayCores:0.00} cores");
        Console.WriteLine(
            $"read: GET /v1/exit-nodes/{{did}} at {getRate / liveRate:P0} of GET /health/live's rate (target: at least 50 %; the rounds {string.Join(", ", ratios.Select(r => r.ToString("P0", CultureInfo.InvariantCulture)))}); " +
            $"gateway CPU per request {baseline.GatewaySeconds / get.Count * 1e6:N0} µs vs {live.GatewaySeconds / live.Latencies.Count * 1e6:N0} µs");
        Console.WriteLine($"the runtime's compiler took {GatewayProcess.FormatShare(compilerWhileMeasured)} of the gateway's CPU over the three measured phases");
        Console.WriteLine(
            $"batch request / baseline GET: p50 {write.P50 / get.P50:0.0}x, p99 {write.P99 / get.P99:0.0}x; per update (batch p50 / {batchSize}) {write.P50 / batchSize:0.00} ms vs GET p50 {get.P50:0.00} ms");
        return new Measured(rate, cpuPerUpdate);
    }

    /// <summary>How many rounds of each read kind the read's ratio is measured over.</summary>
    private const int ReadRounds = 5;

    /// <summary>One request kind's rounds added up: time, latencies and the gateway's CPU.</summary>
    private sealed class Phase
    {
        public TimeSpan Elapsed { get; private set; }

        public List<double> Latencies { get; } = [];

        public double GatewaySeconds { get; private set; }

        public double GatewayCores => GatewaySeconds / Elapsed.TotalSeconds;

        public async Task<TimeSpan> RunAsync(GatewayProcess gateway, Func<Task<(TimeSpan Elapsed, double[] LatenciesMs)>> round)
        {
            var cpu = new CpuShare(gateway);
            var (elapsed, latencies) = await round();
            GatewaySeconds += cpu.Measure().Gateway * elapsed.TotalSeconds;
            Elapsed += elapsed;
            Latencies.AddRange(latencies);
            return elapsed;
        }
    }

    /// <summary>A measured run: its rate, and the gateway's CPU time per update (steadier than the rate on a shared machine).</summary>
    private sealed record Measured(double Rate, double CpuPerUpdate);

    private static async Task<List<string>> CreateExitNodesAsync(TenantClient tenant, int count)
    {
        var dids = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            dids.Add((await tenant.CreateExitNodeAsync()).Did);
        }

        return dids;
    }

    private static async Task<long> HeadSeqSumAsync(TenantClient tenant, List<string> dids)
    {
        var wanted = dids.ToHashSet(StringComparer.Ordinal);
        return (await tenant.ListExitNodesAsync()).Where(n => wanted.Contains(n.Did)).Sum(n => n.HeadSeq);
    }

    /// <summary>One request to send: its target, its body (null for a GET) and how many updates it carries.</summary>
    private sealed record PreparedRequest(Uri Target, byte[]? Body, int Updates);

    /// <summary>Every DID's batches, interleaved (batch 0 of each DID, then batch 1…), so concurrent requests go to different exit nodes.</summary>
    private static List<PreparedRequest> Batches(Uri gateway, List<string> dids, int perDid, int batchSize, string folder)
    {
        var requests = new List<PreparedRequest>();
        for (var first = 0; first < perDid; first += batchSize)
        {
            foreach (var did in dids)
            {
                var count = Math.Min(batchSize, perDid - first);
                requests.Add(new PreparedRequest(new Uri(gateway, $"/v1/exit-nodes/{did}/updates"), Body(folder, first, count), count));
            }
        }

        return requests;
    }

    private static List<PreparedRequest> Gets(Uri gateway, List<string> dids, int count) =>
        [.. Enumerable.Range(0, count).Select(i => new PreparedRequest(new Uri(gateway, $"/v1/exit-nodes/{dids[i % dids.Count]}"), null, 0))];

    /// <summary>The cheapest request the gateway answers (no authentication, no grain): what HTTP alone costs on this machine.</summary>
    private static List<PreparedRequest> Lives(Uri gateway, int count) =>
        [.. Enumerable.Range(0, count).Select(_ => new PreparedRequest(new Uri(gateway, "/health/live"), null, 0))];

    /// <summary><c>{"updates":[…]}</c> with documents like the cluster ingest load's (a title, 200 bytes of body, two tags).</summary>
    private static byte[] Body(string folder, int first, int count)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("updates");
            for (var j = first; j < first + count; j++)
            {
                json.WriteStartObject();
                json.WriteString("updateId", Guid.NewGuid().ToString());
                json.WriteString("type", "memory");
                json.WriteString("operation", "create");
                json.WriteString("path", string.Create(CultureInfo.InvariantCulture, $"memoryIndex/{folder}/{j}"));
                json.WriteStartObject("data");
                json.WriteString("title", string.Create(CultureInfo.InvariantCulture, $"note {j}"));
                json.WriteString("body", new string('x', 200));
                json.WriteStartArray("tags");
                json.WriteStringValue("a");
                json.WriteStringValue("b");
                json.WriteEndArray();
                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>Sends every request, <paramref name="concurrency"/> at a time; each latency is from send to the whole answer read.</summary>
    private static async Task<(TimeSpan Elapsed, double[] LatenciesMs)> RunAsync(HttpClient http, List<PreparedRequest> requests, int concurrency, AuthenticationHeaderValue auth)
    {
        var latencies = new double[requests.Count];
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < requests.Count)
            {
                var prepared = requests[i];
                using var request = new HttpRequestMessage(prepared.Body is null ? HttpMethod.Get : HttpMethod.Post, prepared.Target);
                request.Headers.Authorization = auth;
                if (prepared.Body is not null)
                {
                    request.Content = new ByteArrayContent(prepared.Body);
                    request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                }

                var started = Stopwatch.GetTimestamp();
                using var response = await http.SendAsync(request);
                var answer = await response.Content.ReadAsByteArrayAsync();
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    throw new InvalidOperationException($"{request.Method} {prepared.Target.AbsolutePath} answered {(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(answer.AsSpan(0, Math.Min(answer.Length, 500)))}");
                }
            }
        })));
        return (clock.Elapsed, latencies);
    }
}
