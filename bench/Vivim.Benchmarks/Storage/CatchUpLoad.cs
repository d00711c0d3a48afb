using System.Diagnostics;
using System.Security.Cryptography;
using Vivim.Anchors;
using Vivim.Benchmarks.Cluster;
using Vivim.Client.Sync;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Merkle;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Protocol.Sync;

namespace Vivim.Benchmarks.Storage;

/// <summary>
/// A clone far behind catches up: it holds the snapshot taken before the updates, then pulls pages through the
/// anchor (a fresh activation, so pages come from the durable log) and verifies every commit signature, update
/// hash and root with <see cref="SyncProtocol"/>. Printed next to reading the same pages from the log alone and
/// through the anchor without verifying them, which splits the time between storage, transport and verification.
/// With <c>--rounds</c> the catch-up and its baselines run again with a fresh clone (each round's figures are same-run).
/// With <c>--warm-service</c> every page is first read through the anchor (three passes, not parsed), as a running
/// service has done before, so the first catch-up is a cold clone's against a warm service.
/// Each round ends with the path's physical floor: the Ed25519 verifications the clone needs for the same updates
/// (each commit's signature; with <c>--verify-authors</c>, which makes the clone re-check them, each update's author
/// proof too), timed on one core and on all, and the replica's tree alone taking the same updates in order.
/// Usage: <c>dotnet run -c Release -- catchup [--db sqlite|postgres|azure] [--connection ...] [--updates 100000] [--page 1000] [--batch 1000] [--rounds 1] [--verify-authors] [--warm-service]</c>.
/// </summary>
internal static class CatchUpLoad
{
    public static async Task RunAsync(string[] args)
    {
        var behind = BenchArgs.Int(args, "--updates", 100_000);
        var pageSize = BenchArgs.Int(args, "--page", 1000);
        var rounds = BenchArgs.Int(args, "--rounds", 1);
        var verifyAuthors = args.Contains("--verify-authors");
        var warmService = args.Contains("--warm-service");

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
        await database.AnalyzeAsync();

        if (warmService)
        {
            // A running service has served pages before: its read path (the anchor, the log, Orleans) is compiled and
            // its buffers are grown. The clone's code (parsing, verifying, its tree) stays as cold as a fresh process's.
            var warm = Stopwatch.StartNew();
            for (var pass = 0; pass < 3; pass++)
            {
                for (var after = 0L; after < head.Seq;)
                {
                    var page = await anchor.GetUpdatesAsync(after, pageSize);
                    after = page.Updates.Count > 0 ? page.LastSeq : throw new InvalidOperationException($"The anchor served no update after seq {after} although its head is {head.Seq}.");
                }
            }

            Console.WriteLine($"service warmed: every page read through the anchor three times, not parsed ({warm.Elapsed.TotalSeconds:0.0} s)");
        }

        for (var round = 1; round <= rounds; round++)
        {
            await CatchUpAsync(cluster, database, anchor, did, snapshot, head, pageSize, verifyAuthors);
        }

        Console.WriteLine($"Ed25519 verify bound (after): {IngestLoad.MeasureVerifyBound(TimeSpan.FromSeconds(2)):N0}/s");
    }

    private static async Task CatchUpAsync(BenchCluster cluster, BenchDatabase database, IAnchorStateGrain anchor, string did, StateSnapshot snapshot, AnchorHead head, int pageSize, bool verifyAuthors)
    {
        // Deactivate the anchor: the clone's first call pays for an activation that rebuilds the tree from the database.
        await cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

        var transport = new AnchorSyncTransport(cluster.Client, did);
        await using var sync = new SyncProtocol(did, new SyncConfig(AutoSync: false, MaxBatchSize: pageSize), transport, new SyncOptions { VerifyAuthorSignatures = verifyAuthors });
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
        var (_, fetchCpu, fetchServerCpu) = await cpu.MeasureAsync(async () =>
        {
            for (var after = 0L; after < head.Seq;)
            {
                var page = (await anchor.GetUpdatesAsync(after, pageSize)).Parse();
                after = page.Updates[^1].Seq!.Value;
            }

            return 0;
        });
        var fetchElapsed = fetch.Elapsed;
        Console.WriteLine($"clone caught up {applied:N0} updates in {transport.Pages} pages of {pageSize}, verified (commit signatures, update hashes, roots, proofs{(verifyAuthors ? ", author proofs" : string.Empty)}): {elapsed.TotalSeconds:0.00} s = {applied / elapsed.TotalSeconds:N0} updates/s (target <= 2.5 s); CPU per update {CpuMeter.PerItem(processCpu, serverCpu, applied)}; replica at seq {sync.Replica.Cursor:N0}, root equal to the anchor's");
        Console.WriteLine($"baseline, the same pages read from the log alone: {rows:N0} updates in {rawElapsed.TotalSeconds:0.00} s = {rows / rawElapsed.TotalSeconds:N0} updates/s; catch-up / log read = {elapsed / rawElapsed:0.0}x");
        Console.WriteLine($"the same pages through the anchor, parsed, not verified: {fetchElapsed.TotalSeconds:0.00} s = {head.Seq / fetchElapsed.TotalSeconds:N0} updates/s; CPU per update {CpuMeter.PerItem(fetchCpu, fetchServerCpu, head.Seq)}");

        var floor = await PrepareFloorAsync(anchor, did, head.Seq, pageSize);
        var (commitsOne, commitsAll) = TimeVerifications(floor.Commits);
        var (authorsOne, authorsAll) = TimeVerifications(floor.Authors);
        var tree = TimeTree(floor.Values);
        var needed = verifyAuthors ? commitsAll + authorsAll : commitsAll;
        Console.WriteLine($"floor, the {floor.Commits.Count:N0} commit signatures the clone verifies: {commitsOne.TotalSeconds:0.000} s on one core, {commitsAll.TotalSeconds:0.000} s on {Environment.ProcessorCount} cores");
        Console.WriteLine($"floor, the {floor.Authors.Count:N0} author proofs (checked by the clone only with --verify-authors): {authorsOne.TotalSeconds:0.00} s on one core, {authorsAll.TotalSeconds:0.00} s on {Environment.ProcessorCount} cores = {floor.Authors.Count / authorsAll.TotalSeconds:N0}/s");
        Console.WriteLine($"floor, the replica's tree alone taking the {floor.Values.Count:N0} updates in order (set, root, proof; one core, sequential by nature): {tree.TotalSeconds:0.00} s");
        Console.WriteLine($"catch-up / its signature floor on all cores ({(verifyAuthors ? "commits and authors" : "commits only")}) = {elapsed / needed:0.0}x; catch-up / (every signature on all cores + the tree) = {elapsed / (commitsAll + authorsAll + tree):0.00}x");
    }

    private sealed record Signed(byte[] Key, byte[] Message, byte[] Signature);

    private sealed record Floor(List<Signed> Commits, List<Signed> Authors, List<(string Path, byte[] Value)> Values);

    /// <summary>The signing inputs and tree values of every update and commit up to the head, prepared before any clock.</summary>
    private static async Task<Floor> PrepareFloorAsync(IAnchorStateGrain anchor, string did, long headSeq, int pageSize)
    {
        var parentKey = DidKey.ResolvePublicKey(did);
        var floor = new Floor([], [], []);
        var commitsSeen = new HashSet<long>();
        for (var after = 0L; after < headSeq;)
        {
            var page = (await anchor.GetUpdatesAsync(after, pageSize)).Parse();
            foreach (var commit in page.Commits)
            {
                if (commitsSeen.Add(commit.FromSeq))
                {
                    var json = ProtocolModel.ToJsonObject(commit);
                    floor.Commits.Add(new(parentKey, SignatureV2.SigningBytes(SignedKind.Commit, json), SignatureV2.ReadProofSignature(json)));
                }
            }

            foreach (var update in page.Updates)
            {
                if (!ReceivedUpdates.TryGet(update, out var received) || received.SigningBytes is not { } signing || received.ProofSignature is not { } signature)
                {
                    throw new InvalidOperationException("A parsed page lost its updates' signing bytes.");
                }

                floor.Authors.Add(new(DidKey.ResolvePublicKey(update.SourceDid), signing, signature));
                floor.Values.Add((update.Path, SHA256.HashData(signing.AsSpan(received.Data))));
            }

            after = page.Updates[^1].Seq!.Value;
        }

        return floor;
    }

    private static (TimeSpan OneCore, TimeSpan AllCores) TimeVerifications(List<Signed> items)
    {
        var one = Stopwatch.StartNew();
        foreach (var item in items)
        {
            Verify(item);
        }

        var oneCore = one.Elapsed;
        var all = Stopwatch.StartNew();
        Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(0, items.Count, Math.Max(1, items.Count / (Environment.ProcessorCount * 8))), range =>
        {
            for (var i = range.Item1; i < range.Item2; i++)
            {
                Verify(items[i]);
            }
        });
        return (oneCore, all.Elapsed);

        static void Verify(Signed item)
        {
            if (!Ed25519Keys.Verify(item.Key, item.Message, item.Signature))
            {
                throw new InvalidOperationException("A signature the anchor served does not verify.");
            }
        }
    }

    /// <summary>What applying costs at least: each update set in order, the root read and the proof taken, as the clone does.</summary>
    private static TimeSpan TimeTree(List<(string Path, byte[] Value)> values)
    {
        var tree = new SparseMerkleTree();
        var clock = Stopwatch.StartNew();
        foreach (var (path, value) in values)
        {
            tree.Set(path, value);
            _ = tree.RootHex;
            _ = tree.GetProof(path).ToBase64Url();
        }

        return clock.Elapsed;
    }
}
