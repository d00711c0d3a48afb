using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Configuration;
using Vivim.Anchors;
using Vivim.Benchmarks.Cluster;
using Vivim.ExitNodes;
using Vivim.Hosting;
using Vivim.Storage.Schema;
using Vivim.Tenants;

namespace Vivim.Benchmarks.Storage;

/// <summary>
/// What an idle tenant costs the silo: <c>count</c> tenants with one exit node each are created and touched (tenant,
/// exit node, anchor), every grain is let deactivate (collection age shortened for the run), and after a full,
/// compacting GC the process's managed heap and working set are compared with the same process before the tenants
/// existed. Storage is a SQLite data directory as the embedded node has (grain state, log, hosted-DID directory,
/// nonces), so what is counted is what the silo keeps in memory, not the data it stores. The cluster client runs in the
/// same process; it holds no per-tenant state once its calls completed.
/// Usage: <c>dotnet run -c Release -- idle-tenants [count] [--parallel 32] [--age-seconds 20] [--data-root /dev/shm]</c>;
/// <c>--data-root</c> puts the data directory on a memory file system, where 100,000 tenants are created in minutes
/// rather than waiting on a disk's syncs (which do not change what the silo holds in memory).
/// </summary>
internal static class IdleTenantsLoad
{
    // Created, touched and collected before the baseline, so that code paths, pools and caches first used by a tenant
    // are already in the "before" figure rather than spread over the tenants.
    private const int WarmUpTenants = 200;

    public static async Task RunAsync(string[] args)
    {
        var count = args.Length > 1 && int.TryParse(args[1], out var n) ? n : BenchArgs.Int(args, "--count", 10_000);
        var parallel = BenchArgs.Int(args, "--parallel", 32);
        var age = TimeSpan.FromSeconds(BenchArgs.Int(args, "--age-seconds", 20));
        if (count <= 0 || parallel <= 0 || age <= TimeSpan.Zero)
        {
            throw new ArgumentException("count, --parallel and --age-seconds are positive.");
        }

        var directory = Path.Combine(BenchArgs.Option(args, "--data-root") ?? Path.GetTempPath(), "vivim-bench-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        try
        {
            var location = StorageLocation.Resolve(new VivimStorageOptions(), directory);
            await using (var migration = new SqliteConnection(location.ConnectionString))
            {
                await new SchemaMigrator(DatabaseKind.Sqlite, NullLogger.Instance).MigrateAsync(migration);
            }

            await using var cluster = await BenchCluster.StartAsync(
                storage: silo =>
                {
                    silo.Services.AddVivimUpdateLog(location);
                    silo.AddVivimGrainStorage(DatabaseKind.Sqlite, location.ConnectionString);
                },
                configure: silo => silo.Configure<GrainCollectionOptions>(o =>
                {
                    o.CollectionQuantum = TimeSpan.FromSeconds(1);
                    o.CollectionAge = age;
                }));
            var management = cluster.Client.GetGrain<IManagementGrain>(0);
            Console.WriteLine($"Idle tenants: {count:N0} tenants with one exit node each, in SQLite {directory} (collection age {age.TotalSeconds:0} s); warming up with {WarmUpTenants}…");

            var baselineActivations = await management.GetTotalActivationCount();
            await CreateAndTouchAsync(cluster.Client, "warm", WarmUpTenants, parallel);
            await WaitForDeactivationAsync(management, baselineActivations, age);
            var before = Measure();

            var clock = Stopwatch.StartNew();
            await CreateAndTouchAsync(cluster.Client, "idle", count, parallel);
            var created = clock.Elapsed;
            var active = await management.GetTotalActivationCount();
            var waited = Stopwatch.StartNew();
            var left = await WaitForDeactivationAsync(management, baselineActivations, age);
            var after = Measure();

            Console.WriteLine($"created and touched {count:N0} tenants + exit nodes in {created.TotalSeconds:0.0} s ({count / created.TotalSeconds:N0}/s); {active:N0} activations, {left:N0} left {waited.Elapsed.TotalSeconds:0} s later");
            Report("before:", before);
            Report("after: ", after);
            Console.WriteLine($"per idle tenant: managed heap {PerTenant(after.Heap - before.Heap, count)}, GC committed {PerTenant(after.Committed - before.Committed, count)}, SQLite {PerTenant(after.Sqlite - before.Sqlite, count)}, working set {PerTenant(after.WorkingSet - before.WorkingSet, count)}, after an aggressive GC {PerTenant(after.TrimmedWorkingSet - before.TrimmedWorkingSet, count)} (target <= 2 KiB of silo memory each)");
            var stillActive = (await management.GetSimpleGrainStatistics()).GroupBy(g => g.GrainType).Select(g => $"{g.Key} {g.Sum(x => x.ActivationCount)}");
            Console.WriteLine($"activations left: {string.Join(", ", stillActive)}");
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task CreateAndTouchAsync(IClusterClient client, string prefix, int count, int parallel)
    {
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (i, _) =>
        {
            var tenant = client.GetGrain<ITenantGrain>($"{prefix}{i}");
            await tenant.CreateAsync($"idle tenant {i}", null);
            var advertisement = await tenant.CreateExitNodeAsync(new ExitNodeCreation());
            var did = advertisement.Did;
            await client.GetGrain<IExitNodeGrain>(did).GetInfoAsync();
            await client.GetGrain<IAnchorStateGrain>(did).GetHeadAsync();
            await tenant.GetAsync();
        });
    }

    /// <summary>Until the activations are back to what the cluster had before any tenant (or stop falling), bounded.</summary>
    private static async Task<int> WaitForDeactivationAsync(IManagementGrain management, int baseline, TimeSpan age)
    {
        var deadline = Stopwatch.StartNew();
        var bound = age * 3 + TimeSpan.FromMinutes(5);
        var last = int.MaxValue;
        var still = 0;
        while (true)
        {
            var count = await management.GetTotalActivationCount();
            if (count <= baseline || deadline.Elapsed > bound)
            {
                return count;
            }

            // Stable for a whole collection age after it: what is left is not going to be collected.
            still = count < last ? 0 : still + 1;
            last = Math.Min(last, count);
            if (deadline.Elapsed > age * 2 && still >= (int)age.TotalSeconds)
            {
                return count;
            }

            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>
    /// After full, compacting collections: live managed bytes, what the GC keeps committed, SQLite's own allocations
    /// (page caches of the log's and grain state's connections: bounded, not per tenant), and the working set — then
    /// the working set again once an aggressive collection gave the GC's free memory back to the system.
    /// </summary>
    private static Memory Measure()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        using var process = Process.GetCurrentProcess();
        var heap = GC.GetTotalMemory(forceFullCollection: false);
        var committed = GC.GetGCMemoryInfo(GCKind.FullBlocking).TotalCommittedBytes;
        var sqlite = SQLitePCL.raw.sqlite3_memory_used();
        var workingSet = process.WorkingSet64;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        process.Refresh();
        return new Memory(heap, committed, sqlite, workingSet, process.WorkingSet64);
    }

    private static void Report(string what, Memory m) =>
        Console.WriteLine($"{what} managed heap {Mib(m.Heap)} (GC committed {Mib(m.Committed)}), SQLite {Mib(m.Sqlite)}, working set {Mib(m.WorkingSet)}, after an aggressive GC {Mib(m.TrimmedWorkingSet)}");

    private readonly record struct Memory(long Heap, long Committed, long Sqlite, long WorkingSet, long TrimmedWorkingSet);

    private static string Mib(long bytes) => $"{bytes / 1048576.0:N1} MiB";

    private static string PerTenant(long bytes, int count) => $"{bytes / (double)count:N0} B ({bytes / 1024.0 / count:0.00} KiB)";
}
