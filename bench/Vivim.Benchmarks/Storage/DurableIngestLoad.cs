using System.Diagnostics;
using Vivim.Anchors;
using Vivim.Benchmarks.Cluster;
using Vivim.Protocol.Sync;
using Vivim.Storage;

namespace Vivim.Benchmarks.Storage;

/// <summary>
/// Signed-update ingest through anchors on an in-process silo whose update log is durable, next to baselines
/// measured in the same run on the same database: the same rows inserted straight into the tables (the database's
/// own speed), and appended through the log without the grain. Then the commit latency at half the measured rate,
/// next to the log alone offered the same rows at the same rate, and the machine's fsync latency before and after
/// (the physical floor of a durable commit).
/// At half load a third line runs the anchor's own checks of each batch before the log alone: the floor of a commit without the grain.
/// Usage: <c>dotnet run -c Release -- durable-ingest --db sqlite|postgres|azure|memory [--connection ...] [--dids 64] [--updates 500] [--batch 50]</c>.
/// </summary>
internal static class DurableIngestLoad
{
    public static async Task RunAsync(string[] args)
    {
        var dids = BenchArgs.Int(args, "--dids", 64);
        var perDid = BenchArgs.Int(args, "--updates", 500);
        var batchSize = BenchArgs.Int(args, "--batch", 50);
        await using var database = await BenchDatabase.OpenAsync(args);
        Console.WriteLine($"Durable ingest into {database.Description}: {dids} DIDs x {perDid} updates, batches of {batchSize}, on {Environment.ProcessorCount} cores");
        var bound = IngestLoad.MeasureVerifyBound(TimeSpan.FromSeconds(2));
        Console.WriteLine($"Ed25519 verify bound (all cores): {bound:N0}/s");
        var probeDirectory = database.SqliteFile is { } sqliteFile ? Path.GetDirectoryName(Path.GetFullPath(sqliteFile))! : Path.GetTempPath();
        var fsyncBefore = FsyncProbe.Measure(probeDirectory);
        Console.WriteLine(fsyncBefore);

        await using var cluster = await BenchCluster.StartAsync(updateLog: database.Log);

        // The same warm-up as the in-memory ingest (until tiered compilation settles): one round left the measured run
        // compiling and running unoptimized code, which counted as a fifth of its CPU and looked like the log's cost.
        // The warm-up's DIDs stay stored (the measured DIDs join a database that holds others, as a service's does),
        // and its DID count is the measured run's, so the pool's connections and their prepared statements are there.
        var keep = database.Kind is not null;
        await IngestLoad.WarmUpAsync(cluster, batchSize, dids, keep);

        // Statistics as a running service's autovacuum would have gathered them. Gathering them invalidates every
        // connection's cached plans, so one more round lets each connection plan again before the measurement.
        await database.AnalyzeAsync(vacuum: true);
        await IngestLoad.WarmUpRoundAsync(cluster, batchSize, dids, keep);
        var workloads = SignedWorkload.CreateMany(dids, perDid, batchSize);
        var paced = SignedWorkload.CreateMany(dids, perDid, batchSize);
        foreach (var w in workloads.Concat(paced))
        {
            await w.InitializeAsync(cluster.Client);
        }

        var cpu = new CpuMeter(database);
        SettleBenchData();

        // The full load is set against the bound measured right before and right after it: on a shared host the
        // bound measured at the start, a minute earlier, moved by a third between invocations.
        var boundBefore = IngestLoad.MeasureVerifyBound(TimeSpan.FromSeconds(2));

        // Each measured phase announces itself, so that a profiler can take one phase alone.
        var phases = Stopwatch.StartNew();
        Console.WriteLine("  phase: full load through the anchor (0.0 s)");
        var compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
        var grain = await cpu.MeasureAsync(() => SubmitAllAsync(cluster, workloads));
        compiled = System.Runtime.JitInfo.GetCompiledMethodCount() - compiled;
        var boundAfter = IngestLoad.MeasureVerifyBound(TimeSpan.FromSeconds(2));
        var grainBound = (boundBefore + boundAfter) / 2;

        // The rows that run stored, written again straight into the tables and through the log alone.
        var rows = await ReadBackAsync(database.Log, workloads);
        var raw = database.Kind is null ? null : await cpu.MeasureAsync(() => RawInsertBaseline.RunAsync(database, rows));
        var direct = await cpu.MeasureAsync(() => AppendDirectAsync(database.Log, rows));
        SettleBenchData();
        Console.WriteLine($"  phase: half load through the anchor ({phases.Elapsed.TotalSeconds:0.0} s)");
        var halfBatches = new List<(long Start, double Ms)>();
        var directBatches = new List<(long Start, double Ms)>();
        var checkedBatches = new List<(long Start, double Ms)>();
        string halfTail, directTail, checkedTail;
        IngestRun half, halfDirect, halfChecked;
        using (var witness = new TailWitness())
        {
            half = await cpu.MeasureAsync(() => SubmitPacedAsync(cluster, paced, grain.Rate / 2, batchSize, halfBatches));
            halfTail = witness.Explain(halfBatches);
        }

        Console.WriteLine($"  phase: half load, the log alone ({phases.Elapsed.TotalSeconds:0.0} s)");
        using (var witness = new TailWitness())
        {
            halfDirect = await cpu.MeasureAsync(() => AppendPacedAsync(database.Log, rows, grain.Rate / 2, batchSize, directBatches));
            directTail = witness.Explain(directBatches);
        }

        Console.WriteLine($"  phase: half load, the checks and the log alone ({phases.Elapsed.TotalSeconds:0.0} s)");
        using (var witness = new TailWitness())
        {
            halfChecked = await cpu.MeasureAsync(() => AppendPacedAsync(database.Log, rows, grain.Rate / 2, batchSize, checkedBatches, workloads));
            checkedTail = witness.Explain(checkedBatches);
        }

        var fsyncAfter = FsyncProbe.Measure(probeDirectory);

        // CPU per update in verifications' worth (a verification costs cores / bound of CPU): the same on a faster or slower host.
        var cpuPerUpdate = ((grain.ProcessCpu ?? TimeSpan.Zero) + (grain.ServerCpu ?? TimeSpan.Zero)).TotalSeconds / grain.Updates;
        Console.WriteLine($"grain (verify, order, tree, sign, durable append): {grain.Describe()} = {grain.Rate / grainBound:P0} of the verify bound " +
            $"({grainBound:N0}/s: {boundBefore:N0} right before, {boundAfter:N0} right after; CPU per update = {cpuPerUpdate * grainBound / Environment.ProcessorCount:0.00} verifications' worth); {compiled:N0} methods JIT-compiled during it");
        if (raw is not null)
        {
            Console.WriteLine($"raw insert of the same rows (baseline):             {raw.Describe()}");
        }

        Console.WriteLine($"the log alone (AppendAsync of the same rows):       {direct.Describe()}");
        Console.WriteLine(raw is null
            ? $"ratio grain / log alone = {grain.Rate / direct.Rate:0.00}"
            : $"ratio grain / raw insert = {grain.Rate / raw.Rate:0.00}; grain / log alone = {grain.Rate / direct.Rate:0.00}; log alone / raw insert = {direct.Rate / raw.Rate:0.00}");
        Console.WriteLine($"at half load ({grain.Rate / 2:N0} updates/s offered): {half.Describe()} (target p99 <= 10 ms)");
        Console.WriteLine($"  during it: {halfTail}");
        Console.WriteLine($"the log alone at the same offered rate (baseline):  {halfDirect.Describe()}");
        Console.WriteLine($"  during it: {directTail}");
        Console.WriteLine($"the anchor's checks of each batch, then the log alone, same rate (floor): {halfChecked.Describe()}; anchor p99 / floor p99 = {half.Percentile(0.99) / halfChecked.Percentile(0.99):0.00}");
        Console.WriteLine($"  during it: {checkedTail}");
        Console.WriteLine($"{fsyncBefore} before; after: {fsyncAfter[(fsyncAfter.IndexOf(": ", StringComparison.Ordinal) + 2)..]}");
        Console.WriteLine($"Ed25519 verify bound (all cores) after: {IngestLoad.MeasureVerifyBound(TimeSpan.FromSeconds(2)):N0}/s");
    }

    /// <summary>
    /// Moves the benchmark's own prepared data (signed workloads, the rows read back for the baselines: tens of MB made
    /// just before a measured phase) to the oldest generation first. Left young, it was promoted during the measured
    /// phase: one gen1 collection of 85 ms at half load, and the batches queued behind it, made that run's p99.
    /// </summary>
    private static void SettleBenchData() => GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);

    private static async Task<IngestRun> SubmitAllAsync(BenchCluster cluster, List<SignedWorkload> workloads)
    {
        var latencies = new List<double>();
        var total = 0L;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(workloads.Select(w => Task.Run(async () =>
        {
            var anchor = cluster.Client.GetGrain<IAnchorStateGrain>(w.Key.Did.Value);
            foreach (var batch in w.Batches)
            {
                var started = Stopwatch.GetTimestamp();
                Check(await anchor.SubmitAsync(batch));
                lock (latencies)
                {
                    latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    total += batch.Count;
                }
            }
        })));
        return new IngestRun(total, clock.Elapsed, latencies);
    }

    /// <summary>Offers batches round-robin over the DIDs at a fixed rate, whatever the latency (an open-loop load).</summary>
    private static Task<IngestRun> SubmitPacedAsync(BenchCluster cluster, List<SignedWorkload> workloads, double updatesPerSecond, int batchSize, List<(long Start, double Ms)> batches)
    {
        var schedule = Enumerable.Range(0, workloads.Max(w => w.Batches.Count))
            .SelectMany(b => workloads.Where(w => b < w.Batches.Count).Select(w => (Anchor: cluster.Client.GetGrain<IAnchorStateGrain>(w.Key.Did.Value), Batch: w.Batches[b])))
            .ToList();
        return OfferPacedAsync(schedule, TimeSpan.FromSeconds(batchSize / updatesPerSecond), batches, async item =>
        {
            var started = Stopwatch.GetTimestamp();
            Check(await item.Anchor.SubmitAsync(item.Batch));
            return (started, item.Batch.Count);
        });
    }

    /// <summary>
    /// Starts <paramref name="offer"/> for each item when it falls due (one every <paramref name="interval"/>), without
    /// waiting for earlier ones, and records each one's latency from the start it reports.
    /// </summary>
    private static async Task<IngestRun> OfferPacedAsync<T>(List<T> schedule, TimeSpan interval, List<(long Start, double Ms)> batches, Func<T, Task<(long Started, int Updates)>> offer)
    {
        var latencies = new List<double>();
        var pending = new List<Task>(schedule.Count);
        var total = 0L;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < schedule.Count; i++)
        {
            var due = interval * i;
            if (clock.Elapsed < due)
            {
                await Task.Delay(due - clock.Elapsed);
            }

            var item = schedule[i];
            pending.Add(Task.Run(async () =>
            {
                var (started, updates) = await offer(item);
                var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                lock (latencies)
                {
                    latencies.Add(ms);
                    batches.Add((started, ms));
                    total += updates;
                }
            }));
        }

        await Task.WhenAll(pending);
        return new IngestRun(total, clock.Elapsed, latencies);
    }

    /// <summary>
    /// The rows of <see cref="ReadBackAsync"/>, appended under new DIDs round-robin at a fixed rate, as <see cref="SubmitPacedAsync"/> offers batches.
    /// With <paramref name="checkFirst"/> (the workloads those rows came from), each append first runs the anchor's own
    /// check of its batch's updates, split over the cores as the anchor splits it: the commit's floor without the grain
    /// (no lock, retry lookup, tree, commit signature or listeners).
    /// </summary>
    private static Task<IngestRun> AppendPacedAsync(IUpdateLog log, IReadOnlyList<IReadOnlyList<LogAppend>> perDid, double updatesPerSecond, int batchSize, List<(long Start, double Ms)> batches, List<SignedWorkload>? checkFirst = null)
    {
        var options = new AnchorOptions();
        var authors = new System.Collections.Concurrent.ConcurrentDictionary<string, Vivim.Protocol.Identity.DidKey>(StringComparer.Ordinal);
        var dids = perDid.Select((_, d) => $"did:bench:paced:{d}:{Guid.NewGuid():N}").ToList();
        var schedule = Enumerable.Range(0, perDid.Max(a => a.Count))
            .SelectMany(b => perDid.Select((appends, d) => (Did: dids[d], Append: b < appends.Count ? appends[b] : null, Check: checkFirst is { } w && b < w[d].Batches.Count ? w[d].Batches[b] : null)).Where(x => x.Append is not null))
            .ToList();

        // A DID's appends must reach the log in order: each waits for the DID's one before it (done long before, at this rate).
        var done = schedule.Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        var last = new Dictionary<string, int>(StringComparer.Ordinal);
        var before = new int[schedule.Count];
        for (var i = 0; i < schedule.Count; i++)
        {
            before[i] = last.GetValueOrDefault(schedule[i].Did, -1);
            last[schedule[i].Did] = i;
        }

        return OfferPacedAsync([.. schedule.Select((item, i) => (item.Did, item.Append, item.Check, Index: i))], TimeSpan.FromSeconds(batchSize / updatesPerSecond), batches, async item =>
        {
            var started = 0L;
            try
            {
                if (before[item.Index] >= 0)
                {
                    await done[before[item.Index]].Task;
                }

                started = Stopwatch.GetTimestamp();
                if (item.Check is { } check)
                {
                    await CheckAsync(check, options, authors);
                }

                await log.AppendAsync(item.Did, item.Append!);
                done[item.Index].SetResult();
            }
            catch (Exception e)
            {
                done[item.Index].SetException(e); // the DID's later appends fail too instead of waiting forever
                throw;
            }

            return (started, item.Append!.Updates.Count);
        });
    }

    /// <summary>The anchor's checks of one batch, one work item per core as <c>AnchorStateGrain</c> runs them.</summary>
    private static async Task CheckAsync(List<string> batch, AnchorOptions options, System.Collections.Concurrent.ConcurrentDictionary<string, Vivim.Protocol.Identity.DidKey> authors)
    {
        var now = DateTimeOffset.UtcNow;
        var parts = Math.Min(Environment.ProcessorCount, batch.Count);
        await Task.WhenAll(Enumerable.Range(0, parts).Select(part => Task.Run(() =>
        {
            for (var i = part; i < batch.Count; i += parts)
            {
                if (UpdateCandidate.Check(i, batch[i], options, now, authors).Rejection is { } rejection)
                {
                    throw new InvalidOperationException($"The floor's check refused an update the anchor took: {rejection.Code} {rejection.Reason}");
                }
            }
        })));
    }

    private static async Task<IngestRun> AppendDirectAsync(IUpdateLog log, IReadOnlyList<IReadOnlyList<LogAppend>> perDid)
    {
        var latencies = new List<double>();
        var total = 0L;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(perDid.Select((appends, d) => Task.Run(async () =>
        {
            var did = $"did:bench:direct:{d}:{Guid.NewGuid():N}";
            foreach (var append in appends)
            {
                var started = Stopwatch.GetTimestamp();
                await log.AppendAsync(did, append);
                lock (latencies)
                {
                    latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    total += append.Updates.Count;
                }
            }
        })));
        return new IngestRun(total, clock.Elapsed, latencies);
    }

    /// <summary>Each DID's appends as the anchor made them: its updates and documents cut along its commits.</summary>
    private static async Task<IReadOnlyList<IReadOnlyList<LogAppend>>> ReadBackAsync(IUpdateLog log, List<SignedWorkload> workloads)
    {
        var result = new List<IReadOnlyList<LogAppend>>();
        foreach (var workload in workloads)
        {
            var did = workload.Key.Did.Value;
            var updates = new List<LoggedUpdate>();
            var commits = new Dictionary<long, LoggedCommit>();
            for (var after = 0L; ;)
            {
                var page = await log.ReadAsync(did, after, 1000);
                if (page.Updates.Count == 0)
                {
                    break;
                }

                updates.AddRange(page.Updates);
                foreach (var commit in page.Commits)
                {
                    commits[commit.FromSeq] = commit;
                }

                after = page.Updates[^1].Seq;
            }

            var documents = new Dictionary<long, DocumentChange>();
            await foreach (var document in log.ReadDocumentsAsync(did))
            {
                documents[document.Seq] = new DocumentChange(document.Path, document.Json, document.Value, document.Seq);
            }

            result.Add([.. commits.Values.OrderBy(c => c.FromSeq).Select(c => new LogAppend(
                updates[(int)(c.FromSeq - 1)..(int)c.ToSeq],
                c,
                [.. Enumerable.Range((int)c.FromSeq, (int)(c.ToSeq - c.FromSeq + 1)).Select(s => documents[s])]))]);
        }

        return result;
    }

    private static void Check(SubmitResult result)
    {
        if (result.Outcome != SubmitOutcome.Committed)
        {
            throw new InvalidOperationException($"Batch refused: {result.Rejections[0].Code} {result.Rejections[0].Reason}");
        }
    }
}
