using System.Diagnostics;
using Vivim.Anchors;
using Vivim.Benchmarks.Storage;
using Vivim.Client.Transports;
using Vivim.Feeds;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Benchmarks.Cluster;

/// <summary>
/// Signed-update ingest through anchors in a silo, next to the bound that matters: Ed25519 verifications per second
/// on all cores of this process, measured in the same run. Usage: <c>dotnet run -c Release -- ingest [dids] [updatesPerDid] [batch] [runs]</c>.
/// </summary>
internal static class IngestLoad
{
    public static async Task RunAsync(string[] args)
    {
        int Arg(int i, int fallback) => args.Length > i ? int.Parse(args[i], System.Globalization.CultureInfo.InvariantCulture) : fallback;
        var dids = Arg(1, 64);
        var perDid = Arg(2, 1000);
        var batchSize = Arg(3, 50);
        var rounds = Math.Max(1, Arg(4, 3));

        await using var cluster = await BenchCluster.StartAsync();

        // Warm up on separate DIDs until tiered compilation has settled: a round that compiled hardly any method means
        // the hot paths run their final code. Compilation is a start-up cost, not ingest's; the count during each
        // measured run is printed so that a run which still compiled can be told apart.
        await WarmUpAsync(cluster, batchSize);

        // Shared hosts change speed over a minute, so each run is set against the verify bound measured right before
        // and right after it, and the median of several runs is the result.
        var ratios = new List<double>();
        for (var round = 1; round <= rounds; round++)
        {
            var workloads = await PrepareAsync(cluster, dids, perDid, batchSize);
            var before = MeasureVerifyBound(TimeSpan.FromSeconds(2));
            var compiledBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
            var run = await RunAsync(cluster, workloads);
            var compiled = System.Runtime.JitInfo.GetCompiledMethodCount() - compiledBefore;
            var after = MeasureVerifyBound(TimeSpan.FromSeconds(2));
            ratios.Add(Report($"run {round}: {dids} DIDs, batches of {batchSize}", run, before, after, compiled));

            // Every run starts from the same heap: the in-memory log would otherwise keep each run's updates alive.
            await DeleteAsync(cluster, workloads);
        }

        ratios.Sort();
        Console.WriteLine($"{dids} DIDs: median of {rounds} runs = {ratios[ratios.Count / 2]:P0} of the verify bound (runs: {string.Join(", ", ratios.Select(r => r.ToString("P0", System.Globalization.CultureInfo.InvariantCulture)))})");

        // Anchors publish only while somebody listens; with a listener on every DID each commit is also serialized,
        // queued and delivered, as it is for DIDs whose clones are connected.
        var listened = await PrepareAsync(cluster, dids, perDid, batchSize);
        var observer = new CountingObserver();
        var listeners = new List<AnchorListener>();
        foreach (var w in listened)
        {
            listeners.Add(await AnchorListener.SubscribeAsync(cluster.Client, w.Key.Did.Value, null, observer));
        }

        var listenedBefore = MeasureVerifyBound(TimeSpan.FromSeconds(2));
        var withListeners = await RunAsync(cluster, listened);
        var listenedAfter = MeasureVerifyBound(TimeSpan.FromSeconds(2));
        for (var waited = 0; observer.Updates < withListeners.Updates && waited < 100; waited++)
        {
            await Task.Delay(100);
        }

        Report($"{dids} DIDs with a stream listener each ({observer.Updates:N0} updates delivered to them)", withListeners, listenedBefore, listenedAfter, compiled: null);
        foreach (var listener in listeners)
        {
            await listener.DisposeAsync();
        }

        await DeleteAsync(cluster, listened);

        var single = (await PrepareAsync(cluster, 1, Math.Min(dids * perDid, 20_000), batchSize))[0];
        var singleBefore = MeasureVerifyBound(TimeSpan.FromSeconds(2));
        var one = await RunAsync(cluster, [single], writersPerDid: 8);
        Report($"1 DID, 8 concurrent writers, batches of {batchSize}", one, singleBefore, MeasureVerifyBound(TimeSpan.FromSeconds(2)), compiled: null);
    }

    private static async Task DeleteAsync(BenchCluster cluster, List<SignedWorkload> workloads)
    {
        foreach (var w in workloads)
        {
            await cluster.Client.GetGrain<IAnchorStateGrain>(w.Key.Did.Value).DeleteAsync();
        }

        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    }

    private static async Task<List<SignedWorkload>> PrepareAsync(BenchCluster cluster, int dids, int perDid, int batchSize, bool quiet = false)
    {
        if (!quiet)
        {
            Console.WriteLine($"Signing {dids * perDid:N0} updates for {dids} DIDs…");
        }

        var workloads = SignedWorkload.CreateMany(dids, perDid, batchSize);
        foreach (var w in workloads)
        {
            await w.InitializeAsync(cluster.Client);
        }

        return workloads;
    }

    /// <param name="dids">DIDs written at once in each round: the measured run's count, so that what grows with it
    /// (a database pool's connections and their prepared statements) is in place before the measurement.</param>
    /// <param name="keep">Leave each round's DIDs stored and only deactivate their anchors, as a service's other DIDs
    /// are; deleting them would leave dead rows for a database's vacuum to clear during the measurement.</param>
    internal static async Task WarmUpAsync(BenchCluster cluster, int batchSize, int dids = 16, bool keep = false)
    {
        var clock = Stopwatch.StartNew();
        for (var round = 1; ; round++)
        {
            var compiled = await WarmUpRoundAsync(cluster, batchSize, dids, keep);
            if ((round >= 3 && compiled < 20) || clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                Console.WriteLine($"Warmed up in {round} rounds ({clock.Elapsed.TotalSeconds:0} s); the last compiled {compiled} methods");
                return;
            }

            // Tiering waits for a quiet spell (100 ms without new tier-0 code) before it recompiles hot methods.
            await Task.Delay(200);
        }
    }

    /// <summary>One round of the warm-up; the number of methods compiled during it.</summary>
    internal static async Task<int> WarmUpRoundAsync(BenchCluster cluster, int batchSize, int dids = 16, bool keep = false)
    {
        var compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
        var warmUp = await PrepareAsync(cluster, dids, 500, batchSize, quiet: true);
        await RunAsync(cluster, warmUp);
        if (keep)
        {
            await cluster.Client.GetGrain<Orleans.Runtime.IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        }
        else
        {
            await DeleteAsync(cluster, warmUp);
        }

        return (int)(System.Runtime.JitInfo.GetCompiledMethodCount() - compiled);
    }

    private static double Report(string label, (long Updates, TimeSpan Elapsed, List<double> LatenciesMs) run, double boundBefore, double boundAfter, long? compiled)
    {
        var rate = run.Updates / run.Elapsed.TotalSeconds;
        var bound = (boundBefore + boundAfter) / 2;
        run.LatenciesMs.Sort();
        double P(double q) => run.LatenciesMs[(int)Math.Min(run.LatenciesMs.Count - 1, Math.Floor(q * run.LatenciesMs.Count))];
        Console.WriteLine($"{label}: {run.Updates:N0} updates in {run.Elapsed.TotalSeconds:0.00} s = {rate:N0} updates/s = {rate / bound:P0} of the verify bound " +
            $"({bound:N0}/s on all {Environment.ProcessorCount} cores: {boundBefore:N0} before, {boundAfter:N0} after); batch commit latency p50 {P(0.5):0.0} ms, p99 {P(0.99):0.0} ms" +
            (compiled is { } count ? $"; {count:N0} methods JIT-compiled during the run" : string.Empty) + $"; {ThreadPool.ThreadCount} pool threads");
        return rate / bound;
    }

    private static async Task<(long Updates, TimeSpan Elapsed, List<double> LatenciesMs)> RunAsync(BenchCluster cluster, List<SignedWorkload> workloads, int writersPerDid = 1)
    {
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

    private sealed class CountingObserver : ILiveSyncObserver
    {
        private long _updates;

        public long Updates => Interlocked.Read(ref _updates);

        public long Cursor => 0;

        public SyncConfig Config { get; } = new();

        public ValueTask OnBatchAsync(CommittedBatch batch)
        {
            Interlocked.Add(ref _updates, batch.Updates.Count);
            return ValueTask.CompletedTask;
        }

        public ValueTask OnUpdatesAsync(LiveUpdates updates) => ValueTask.CompletedTask;

        public ValueTask OnHeadAsync(long headSeq) => ValueTask.CompletedTask;

        public ValueTask OnRevokedAsync(string reason) => ValueTask.CompletedTask;
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
}
