using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Vivim.Benchmarks.Cluster;
using Vivim.Client.Http;
using Vivim.Client.Sync;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Benchmarks.Gateway;

/// <summary>
/// Clone-signed writes over HTTP through the real gateway process on loopback: registered clones with write permission
/// post batches of updates they signed themselves (v1 signature and v2 proof, with their DID key) to
/// <c>POST /v1/clones/{cloneId}/updates</c>, each request signed too (RFC 9421). Usage:
/// <c>dotnet run -c Release -- gateway-clone-ingest [dids] [clonesPerDid] [updatesPerClone] [batch] [concurrency]</c>.
/// Prints updates/s as a share of the Ed25519 verify bound of this process's cores (measured before the gateway
/// starts; the gateway then shares them), and the gateway's CPU per update in verifications' worth.
/// </summary>
/// <remarks>
/// The gateway verifies, per request, the request's signature, and per update its v2 proof (the anchor's check); the
/// v1 signature is the SDK peers' and travels untouched. So the work is one verification per update plus one per
/// batch. The clients' side (signing every update twice and every request once) happens before the timed phase for
/// the updates and inside it for the requests, in this process, which shares the cores: its CPU is printed apart.
/// </remarks>
internal static class GatewayCloneIngestLoad
{
    /// <summary>As in gateway-ingest: with fewer rounds the gateway was still compiling (about a tenth of its CPU in the JIT) while measured.</summary>
    private const int WarmUpRounds = 10;

    public static async Task<int> RunAsync(string[] args)
    {
        int Arg(int i, int fallback) => args.Length > i ? int.Parse(args[i], CultureInfo.InvariantCulture) : fallback;
        // 128,000 updates: a measured phase of 15-25 s on 2 cores; in phases of a few seconds the runtime's compiler
        // still took a fifth of the gateway's CPU, although it was quiet at the end of the warm-up.
        var dids = Arg(1, 16);
        var clonesPerDid = Arg(2, 2);
        var perClone = Arg(3, 4000);
        var batchSize = Arg(4, 50);
        var concurrency = Arg(5, 16);

        if (GatewayProcess.MissingGateway() is { } missing)
        {
            Console.Error.WriteLine("gateway-clone-ingest: " + missing);
            return 1;
        }

        var bound = IngestLoad.MeasureVerifyBound(TimeSpan.FromSeconds(3));
        Console.WriteLine($"Ed25519 verify bound (all {Environment.ProcessorCount} cores of this process, before the gateway starts): {bound:N0}/s");
        var settings = GatewayIngestLoad.Settings(dids * 2);
        var code = await GatewayProcess.RunAsync("gateway-clone-ingest", settings, async gateway => await MeasureAsync(gateway, bound, dids, clonesPerDid, perClone, batchSize, concurrency));
        Console.WriteLine($"Ed25519 verify bound after the run: {IngestLoad.MeasureVerifyBound(TimeSpan.FromSeconds(3)):N0}/s");
        return code;
    }

    private static async Task MeasureAsync(GatewayProcess gateway, double bound, int dids, int clonesPerDid, int perClone, int batchSize, int concurrency)
    {
        var started = Stopwatch.StartNew();
        using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) }) { Timeout = TimeSpan.FromMinutes(2) };
        using var operatorClient = new OperatorClient(gateway.BaseAddress, gateway.OperatorKey, http);
        var (_, apiKey) = await operatorClient.CreateTenantAsync("gateway-clone-ingest");
        using var tenant = new TenantClient(gateway.BaseAddress, apiKey, http);
        using var discovery = new ExitNodeClient(gateway.BaseAddress, http);

        // The warm-up writes in the measured phase's shape (as many DIDs and clones, the same batches and concurrency) to
        // DIDs of its own: with 4 DIDs, the compiler still took 10-14 % of the measured phase's CPU (larger commit
        // groups, more DIDs per log-writer group and their tiered promotions came only then).
        var warmUp = await CreateClonesAsync(gateway.BaseAddress, http, apiKey, discovery, dids, clonesPerDid);
        var measured = await CreateClonesAsync(gateway.BaseAddress, http, apiKey, discovery, dids, clonesPerDid);
        try
        {
            var batches = Batches(measured, perClone, batchSize, "notes");
            Console.WriteLine(
                $"Created {dids} exit nodes with {clonesPerDid} writing clones each (as many for warm-up) and signed {batches.Sum(b => b.Updates.Count):N0} updates (v1 and v2) in {started.Elapsed.TotalSeconds:0.0} s");

            var (rounds, compilerShare) = await gateway.WarmUpAsync(WarmUpRounds, round => RunAsync(Batches(warmUp, 100, batchSize, $"warm-up-{round}"), concurrency));
            Console.WriteLine($"  warm-up: {rounds} rounds, the runtime's compiler {GatewayProcess.FormatShare(compilerShare)} of the gateway's CPU in the last");
            Console.WriteLine($"  gateway idle before measuring: {await gateway.SettleAsync():0.00} cores busy");

            var headBefore = await HeadSeqSumAsync(tenant, measured);
            var cpu = new CpuShare(gateway);
            var compilerBefore = gateway.CompilerCpuTime;
            var gatewayBefore = gateway.CpuTime;
            var writtenBefore = gateway.StorageWrittenBytes;
            var run = await RunAsync(batches, concurrency);
            var written = gateway.StorageWrittenBytes - writtenBefore;
            var runCpu = cpu.Measure();
            var compilerWhileMeasured = gateway.CompilerShareSince(compilerBefore, gatewayBefore);

            // Every update committed exactly once: the heads moved by the number of updates sent.
            var updates = batches.Sum(b => b.Updates.Count);
            var moved = await HeadSeqSumAsync(tenant, measured) - headBefore;
            if (moved != updates)
            {
                throw new InvalidOperationException($"{updates} updates sent but the exit nodes' heads moved by {moved}.");
            }

            var rate = updates / run.Elapsed.TotalSeconds;
            var cpuPerUpdate = runCpu.Gateway * run.Elapsed.TotalSeconds / updates;
            var verifyCost = Environment.ProcessorCount / bound;
            var latency = new Percentiles(run.LatenciesMs);
            Console.WriteLine(
                $"{dids} DIDs x {clonesPerDid} clones x {perClone} updates, batches of {batchSize}, {concurrency} concurrent requests: {updates:N0} updates in {run.Elapsed.TotalSeconds:0.00} s = {rate:N0} updates/s = " +
                $"{rate / bound:P0} of the verify bound (target: at least 35 %); batch request p50 {latency.P50:0.0} ms, p99 {latency.P99:0.0} ms; " +
                $"gateway CPU {cpuPerUpdate * 1e6:N0} µs per update = {cpuPerUpdate / verifyCost:0.0} verifications' worth (the work: {1 + 1.0 / batchSize:0.00}), " +
                $"of it the runtime's compiler {GatewayProcess.FormatShare(compilerWhileMeasured)}; {runCpu}; " +
                $"written to storage {(written is { } bytes ? (bytes / (double)updates / 1024).ToString("0.0", CultureInfo.InvariantCulture) + " KiB" : "(not visible)")} per update");
        }
        finally
        {
            foreach (var clone in warmUp.Concat(measured))
            {
                clone.Dispose();
            }
        }
    }

    /// <summary>A registered clone with write permission, its key and its HTTP transport (which signs each request).</summary>
    private sealed class WritingClone(int index, string did, SigningKey key, HttpSyncTransport transport) : IDisposable
    {
        public int Index { get; } = index;

        public string Did { get; } = did;

        public HttpSyncTransport Transport { get; } = transport;

        public CloneWriter Writer { get; } = new(transport, key, transport.CloneId);

        public void Dispose()
        {
            Transport.Dispose();
            key.Dispose();
        }
    }

    private sealed record SignedBatch(WritingClone Writer, List<string> Updates);

    /// <summary>
    /// Exit nodes whose clones get read and write on registration, each registered through the SDK's flow (challenge,
    /// proof, trust proof and initial snapshot checked).
    /// </summary>
    private static async Task<List<WritingClone>> CreateClonesAsync(Uri baseAddress, HttpClient http, string apiKey, ExitNodeClient discovery, int dids, int clonesPerDid)
    {
        var clones = new List<WritingClone>(dids * clonesPerDid);
        for (var i = 0; i < dids; i++)
        {
            using var create = new HttpRequestMessage(HttpMethod.Post, new Uri(baseAddress, "/v1/exit-nodes"))
            {
                Content = new StringContent("""{"defaultPermissions":["read","write"]}""", Encoding.UTF8, "application/json"),
            };
            create.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
            using var created = await http.SendAsync(create);
            var answer = await created.Content.ReadAsStringAsync();
            if (!created.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"Creating an exit node answered {(int)created.StatusCode}: {answer}");
            }

            var did = System.Text.Json.Nodes.JsonNode.Parse(answer)!["did"]!.GetValue<string>();
            for (var c = 0; c < clonesPerDid; c++)
            {
                var key = SigningKey.Generate();
                var registration = await discovery.RegisterCloneAsync(did, key);
                clones.Add(new WritingClone(clones.Count, did, key, new HttpSyncTransport(baseAddress, key, registration.CloneId)));
            }
        }

        return clones;
    }

    private static async Task<long> HeadSeqSumAsync(TenantClient tenant, List<WritingClone> clones)
    {
        var wanted = clones.Select(c => c.Did).ToHashSet(StringComparer.Ordinal);
        return (await tenant.ListExitNodesAsync()).Where(n => wanted.Contains(n.Did)).Sum(n => n.HeadSeq);
    }

    /// <summary>Every clone's batches, signed now, interleaved (batch 0 of each clone, then batch 1…), so concurrent requests go to different clones.</summary>
    private static List<SignedBatch> Batches(List<WritingClone> clones, int perClone, int batchSize, string folder)
    {
        var batches = new List<SignedBatch>();
        for (var first = 0; first < perClone; first += batchSize)
        {
            foreach (var clone in clones)
            {
                var count = Math.Min(batchSize, perClone - first);
                batches.Add(new SignedBatch(clone, [.. Enumerable.Range(first, count).Select(j => clone.Writer.Sign(Update(clone.Index, folder, j)))]));
            }
        }

        return batches;
    }

    /// <summary>A document like gateway-ingest's (a title, 200 bytes of body, two tags), at a path of the clone's own.</summary>
    private static UpdateRequest Update(int clone, string folder, int j)
    {
        var data = string.Create(CultureInfo.InvariantCulture, $$"""{"title":"note {{j}}","body":"{{new string('x', 200)}}","tags":["a","b"]}""");
        var path = string.Create(CultureInfo.InvariantCulture, $"memoryIndex/{folder}/{clone}/{j}");
        return new UpdateRequest(UpdateType.Memory, UpdateOperation.Create, path, new RawJson(data));
    }

    /// <summary>Submits every batch through its clone's transport, <paramref name="concurrency"/> at a time; each latency is from send to the receipts read.</summary>
    private static async Task<(TimeSpan Elapsed, double[] LatenciesMs)> RunAsync(List<SignedBatch> batches, int concurrency)
    {
        var latencies = new double[batches.Count];
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < batches.Count)
            {
                var batch = batches[i];
                var started = Stopwatch.GetTimestamp();
                var result = await batch.Writer.Transport.SubmitAsync(batch.Updates, CancellationToken.None);
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (result.Outcome != SubmitOutcome.Committed)
                {
                    throw new InvalidOperationException(
                        $"Clone {batch.Writer.Transport.CloneId}'s batch was {result.Outcome}: {string.Join("; ", result.Rejections.Take(3).Select(r => r.ToString()))}");
                }
            }
        })));
        return (clock.Elapsed, latencies);
    }
}
