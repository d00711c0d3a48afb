using System.Diagnostics;
using System.Text.Json.Nodes;
using Vivim.Anchors;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;

namespace Vivim.Benchmarks.Cluster;

/// <summary>
/// Signed-update ingest through anchors in a silo, next to the bound that matters: Ed25519 verifications per second
/// on all cores of this process, measured in the same run. Usage: <c>dotnet run -c Release -- ingest [dids] [updatesPerDid] [batch]</c>.
/// </summary>
internal static class IngestLoad
{
    public static async Task RunAsync(string[] args)
    {
        var dids = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 64;
        var perDid = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 1000;
        var batchSize = args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 50;

        var bound = MeasureVerifyBound(TimeSpan.FromSeconds(3));
        Console.WriteLine($"Ed25519 verify bound (all {Environment.ProcessorCount} cores): {bound:N0}/s");

        await using var cluster = await BenchCluster.StartAsync();
        Console.WriteLine($"Signing {dids * perDid:N0} updates for {dids} DIDs…");
        var workloads = Enumerable.Range(0, dids).Select(_ => Workload.Create(perDid, batchSize)).ToList();
        foreach (var w in workloads)
        {
            await cluster.Client.GetGrain<IAnchorStateGrain>(w.Key.Did.Value).InitializeAsync(new AnchorSetup(BenchCluster.Vault.Seal(w.Key.ExportSeed(), w.Key.Did.Value)));
        }

        // Warm up on separate DIDs until tiered compilation has settled: a round that compiled hardly any method means
        // the hot paths run their final code. Compilation is a start-up cost, not ingest's; the count during the
        // measured run is printed so that a run which still compiled can be told apart.
        await WarmUpAsync(cluster, batchSize);

        var compiledBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
        var many = await RunAsync(cluster, workloads, init: false);
        Report($"{dids} DIDs, batches of {batchSize}", many, bound);
        Console.WriteLine($"  methods JIT-compiled during that run: {System.Runtime.JitInfo.GetCompiledMethodCount() - compiledBefore:N0}");

        var single = Workload.Create(Math.Min(dids * perDid, 20_000), batchSize);
        await cluster.Client.GetGrain<IAnchorStateGrain>(single.Key.Did.Value).InitializeAsync(new AnchorSetup(BenchCluster.Vault.Seal(single.Key.ExportSeed(), single.Key.Did.Value)));
        var one = await RunAsync(cluster, [single], init: false, writersPerDid: 8);
        Report($"1 DID, 8 concurrent writers, batches of {batchSize}", one, bound);
    }

    internal static async Task WarmUpAsync(BenchCluster cluster, int batchSize)
    {
        var clock = Stopwatch.StartNew();
        for (var round = 1; ; round++)
        {
            var compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
            await RunAsync(cluster, Enumerable.Range(0, 16).Select(_ => Workload.Create(500, batchSize)).ToList(), init: true);
            compiled = System.Runtime.JitInfo.GetCompiledMethodCount() - compiled;
            if ((round >= 3 && compiled < 20) || clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                Console.WriteLine($"Warmed up in {round} rounds ({clock.Elapsed.TotalSeconds:0} s); the last compiled {compiled} methods");
                return;
            }

            // Tiering waits for a quiet spell (100 ms without new tier-0 code) before it recompiles hot methods.
            await Task.Delay(200);
        }
    }

    private static void Report(string label, (long Updates, TimeSpan Elapsed, List<double> LatenciesMs) run, double bound)
    {
        var rate = run.Updates / run.Elapsed.TotalSeconds;
        run.LatenciesMs.Sort();
        double P(double q) => run.LatenciesMs[(int)Math.Min(run.LatenciesMs.Count - 1, Math.Floor(q * run.LatenciesMs.Count))];
        Console.WriteLine($"{label}: {run.Updates:N0} updates in {run.Elapsed.TotalSeconds:0.00} s = {rate:N0} updates/s = {rate / bound:P0} of the verify bound; batch commit latency p50 {P(0.5):0.0} ms, p99 {P(0.99):0.0} ms");
    }

    private static async Task<(long, TimeSpan, List<double>)> RunAsync(BenchCluster cluster, List<Workload> workloads, bool init, int writersPerDid = 1)
    {
        if (init)
        {
            foreach (var w in workloads)
            {
                await cluster.Client.GetGrain<IAnchorStateGrain>(w.Key.Did.Value).InitializeAsync(new AnchorSetup(BenchCluster.Vault.Seal(w.Key.ExportSeed(), w.Key.Did.Value)));
            }
        }

        var latencies = new List<double>();
        var total = 0L;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(workloads.SelectMany(w => Enumerable.Range(0, writersPerDid).Select(writer => Task.Run(async () =>
        {
            var anchor = cluster.Client.GetGrain<IAnchorStateGrain>(w.Key.Did.Value);
            for (var b = writer; b < w.Batches.Count; b += writersPerDid)
            {
                var started = Stopwatch.GetTimestamp();
                var result = await anchor.SubmitAsync(w.Batches[b]);
                if (result.Outcome != SubmitOutcome.Committed)
                {
                    throw new InvalidOperationException($"Batch refused: {result.Rejections[0].Code} {result.Rejections[0].Reason}");
                }

                lock (latencies)
                {
                    latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    total += w.Batches[b].Count;
                }
            }
        }))));
        return (total, clock.Elapsed, latencies);
    }

    internal static double MeasureVerifyBound(TimeSpan duration)
    {
        using var key = SigningKey.Generate();
        var message = new byte[32];
        var signature = key.Sign(message);
        var count = 0L;
        var until = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var clock = Stopwatch.StartNew();
        Parallel.For(0, Environment.ProcessorCount, _ =>
        {
            var local = 0L;
            while (Stopwatch.GetTimestamp() < until)
            {
                Ed25519Keys.Verify(key.PublicKey, message, signature);
                local++;
            }

            Interlocked.Add(ref count, local);
        });
        return count / clock.Elapsed.TotalSeconds;
    }

    private sealed record Workload(SigningKey Key, List<List<string>> Batches)
    {
        public static Workload Create(int updates, int batchSize)
        {
            var key = SigningKey.Generate();
            var batches = new List<List<string>>();
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            for (var i = 0; i < updates; i += batchSize)
            {
                var batch = new List<string>(batchSize);
                for (var j = i; j < Math.Min(updates, i + batchSize); j++)
                {
                    var update = ProtocolModel.ToJsonObject(new StateUpdate(
                        Guid.NewGuid().ToString(), UpdateType.Memory, now, key.Did.Value, string.Empty, UpdateOperation.Create,
                        $"memoryIndex/notes/{j}", RawJson.From(new JsonObject { ["title"] = $"note {j}", ["body"] = new string('x', 200), ["tags"] = new JsonArray("a", "b") }),
                        string.Empty, string.Empty));
                    SignatureV1.SignInPlace(key, SignedKind.StateUpdate, update);
                    SignatureV2.SignInPlace(key, SignedKind.StateUpdate, update);
                    batch.Add(JavaScriptJson.Stringify(update));
                }

                batches.Add(batch);
            }

            return new Workload(key, batches);
        }
    }
}
