using System.Diagnostics;
using Vivim.Anchors;
using Vivim.Benchmarks.Cluster;
using Vivim.Client.Sync;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Benchmarks.Storage;

/// <summary>
/// A clone far behind catches up: it holds the snapshot taken before the updates, then pulls pages through the
/// anchor (a fresh activation, so pages come from the durable log) and verifies every commit signature, update
/// hash and root with <see cref="SyncProtocol"/>. Printed next to reading the same pages from the log alone and
/// through the anchor without verifying them, which splits the time between storage, transport and verification.
/// With <c>--rounds</c> the catch-up and its baselines run again with a fresh clone (each round's figures are same-run).
/// Usage: <c>dotnet run -c Release -- catchup [--db sqlite|postgres|azure] [--connection ...] [--updates 100000] [--page 1000] [--batch 1000] [--rounds 1]</c>.
/// </summary>
internal static class CatchUpLoad
{
    public static async Task RunAsync(string[] args)
    {
        var behind = BenchArgs.Int(args, "--updates", 100_000);
        var pageSize = BenchArgs.Int(args, "--page", 1000);
        var rounds = BenchArgs.Int(args, "--rounds", 1);

        // The ingest's batch size: smaller on a slow store, where one 1000-update commit outlasts the 30 s grain call timeout (Azurite).
        var batchSize = BenchArgs.Int(args, "--batch", 1000);
        await using var database = await BenchDatabase.OpenAsync(args);
        Console.WriteLine($"Ed25519 verify bound (all {Environment.ProcessorCount} cores): {IngestLoad.MeasureVerifyBound(TimeSpan.FromSeconds(2)):N0}/s");
        await using var cluster = await BenchCluster.StartAsync(updateLog: database.Log);

        Console.WriteLine($"Catch-up of {behind:N0} updates from {database.Description}; signing them…");
        var workload = SignedWorkload.CreateMany(1, behind, batchSize)[0];
        await workload.InitializeAsync(cluster.Client);
        var did = workload.Key.Did.Value;
        var anchor = cluster.Client.GetGrain<IAnchorStateGrain>(did);
        var snapshot = await anchor.GetSnapshotAsync();
        var ingest = Stopwatch.StartNew();
        foreach (var batch in workload.Batches)
        {
            var result = await anchor.SubmitAsync(batch);
            if (result.Outcome != SubmitOutcome.Committed)
            {
                throw new InvalidOperationException($"Batch refused: {result.Rejections[0].Code}");
            }
        }

        var head = await anchor.GetHeadAsync();
        Console.WriteLine($"Ingested to seq {head.Seq:N0} in {ingest.Elapsed.TotalSeconds:0.0} s");

        for (var round = 1; round <= rounds; round++)
        {
            await CatchUpAsync(cluster, database, anchor, did, snapshot, head, pageSize);
        }

        Console.WriteLine($"Ed25519 verify bound (after): {IngestLoad.MeasureVerifyBound(TimeSpan.FromSeconds(2)):N0}/s");
    }

    private static async Task CatchUpAsync(BenchCluster cluster, BenchDatabase database, IAnchorStateGrain anchor, string did, StateSnapshot snapshot, AnchorHead head, int pageSize)
    {
        // Deactivate the anchor: the clone's first call pays for an activation that rebuilds the tree from the database.
        await cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

        var transport = new AnchorSyncTransport(cluster.Client, did);
        await using var sync = new SyncProtocol(did, new SyncConfig(AutoSync: false, MaxBatchSize: pageSize), transport);
        await sync.LoadSnapshotAsync(snapshot);
        var cpu = new CpuMeter(database);
        var clock = Stopwatch.StartNew();
        var (applied, processCpu, serverCpu) = await cpu.MeasureAsync(() => sync.SyncNowAsync());
        var elapsed = clock.Elapsed;
        if (sync.Replica.Cursor != head.Seq || sync.Replica.Root != head.Root)
        {
            throw new InvalidOperationException($"The clone ended at seq {sync.Replica.Cursor} root {sync.Replica.Root}, the anchor is at {head.Seq} {head.Root}.");
        }

        // Baseline: the same pages read from the log alone (no grain, no transport, no verification).
        var raw = Stopwatch.StartNew();
        var rows = 0;
        for (var after = 0L; after < head.Seq;)
        {
            var page = await database.Log.ReadAsync(did, after, pageSize);
            rows += page.Updates.Count;
            after = page.Updates[^1].Seq;
        }

        var rawElapsed = raw.Elapsed;

        // And through the anchor without verifying: what the transport costs (the grain parses, Orleans serializes).
        var fetch = Stopwatch.StartNew();
        for (var after = 0L; after < head.Seq;)
        {
            var page = (await anchor.GetUpdatesAsync(after, pageSize)).Parse();
            after = page.Updates[^1].Seq!.Value;
        }

        var fetchElapsed = fetch.Elapsed;
        Console.WriteLine($"clone caught up {applied:N0} updates in {transport.Pages} pages of {pageSize}, verified (commit signatures, update hashes, roots): {elapsed.TotalSeconds:0.00} s = {applied / elapsed.TotalSeconds:N0} updates/s (target <= 2.5 s); CPU per update {CpuMeter.PerItem(processCpu, serverCpu, applied)}; replica at seq {sync.Replica.Cursor:N0}, root equal to the anchor's");
        Console.WriteLine($"baseline, the same pages read from the log alone: {rows:N0} updates in {rawElapsed.TotalSeconds:0.00} s = {rows / rawElapsed.TotalSeconds:N0} updates/s; catch-up / log read = {elapsed / rawElapsed:0.0}x");
        Console.WriteLine($"the same pages through the anchor, not verified: {fetchElapsed.TotalSeconds:0.00} s = {head.Seq / fetchElapsed.TotalSeconds:N0} updates/s");
    }
}
