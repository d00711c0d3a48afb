using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Vivim.Client.Http;
using Vivim.Client.P2p;
using Vivim.Client.Replica;
using Vivim.Client.Sync;
using Vivim.Gateway.Hosting;
using Vivim.Gateway.P2p.Gossip;
using Vivim.Libp2p.Core;
using Vivim.Protocol.Identity;
using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Benchmarks.Gateway;

/// <summary>
/// The .NET clone over libp2p against the same clone over HTTP/WebSocket, one in-process gateway on loopback, in one
/// run. Usage: <c>dotnet run -c Release -- p2p-clone [updates] [clones] [commits] [rate]</c>.
/// <list type="number">
/// <item>Catch-up: clones registered before <c>updates</c> owner writes each catch up with <c>SyncNowAsync</c> (pages of
/// 1,000, every commit verified, as an app does), over libp2p (<see cref="P2pClone"/>) and over HTTP
/// (<see cref="RemoteClone"/>), alternating; prints the times and libp2p / HTTP.</item>
/// <item>Commit-to-applied: <c>clones</c> live clones of one exit node, over libp2p (GossipSub notices, pulls over
/// <c>/vivim/sync</c>), then as many over the WebSocket on another exit node; <c>commits</c> owner writes at
/// <c>rate</c> per second; the time from sending each write to each clone having applied it, p50 and p99.</item>
/// </list>
/// </summary>
internal static class P2pCloneLoad
{
    private const int WriteBatch = 500;
    private const string OperatorKey = "bench-operator-key-0123456789abcdef";

    public static async Task<int> RunAsync(string[] args)
    {
        int Arg(int i, int fallback) => args.Length > i ? int.Parse(args[i], CultureInfo.InvariantCulture) : fallback;
        var updates = Arg(1, 100_000);
        var clones = Arg(2, 100);
        var commits = Arg(3, 100);
        var rate = Arg(4, 10);

        var data = Directory.CreateTempSubdirectory("vivim-p2p-clone-");
        var port = FreePort();
        var baseAddress = new Uri($"http://127.0.0.1:{port}");
        await using var app = GatewayApp.Create(
        [
            "--Vivim:Management:Urls=none", // no dashboard profiling every grain call: not the path measured
            "--urls", baseAddress.ToString(),
            $"--Vivim:DataPath={data.FullName}",
            $"--Vivim:SiloPort={FreePort()}",
            $"--Vivim:GatewayPort={FreePort()}",
            "--Vivim:P2p:Listen:0=/ip4/127.0.0.1/tcp/0",
            $"--Vivim:ClusterId=p2p-clone-{port}",
            $"--Vivim:OperatorKey={OperatorKey}",
            $"--Vivim:ClusterSecret={Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))}",
            "--Vivim:RateLimits:PerAddressPerSecond=1000000",
            "--Vivim:RateLimits:PerDidPerSecond=1000000",
            "--Vivim:Tenants:UpdatesPerSecond=10000000",
            "--Vivim:Tenants:RequestsPerSecond=1000000",
            "--Vivim:Tenants:MaxClonesPerExitNode=100000",
            "--Logging:LogLevel:Default=Warning",
        ]);
        await app.StartAsync();
        try
        {
            using var http = new HttpClient();
            using var operatorClient = new OperatorClient(baseAddress, OperatorKey, http);
            var (_, apiKey) = await operatorClient.CreateTenantAsync("p2p-clone");
            using var tenant = new TenantClient(baseAddress, apiKey, http);
            var bootstrap = (await GatewayP2pPeer.GetAsync(baseAddress, http)).Dialable;
            await CatchUpAsync(baseAddress, tenant, bootstrap, data.FullName, updates);
            await CommitToAppliedAsync(app.Services, baseAddress, tenant, bootstrap, data.FullName, clones, commits, rate);
        }
        finally
        {
            await app.StopAsync();
            data.Delete(recursive: true);
        }

        return 0;
    }

    private static async Task CatchUpAsync(Uri baseAddress, TenantClient tenant, IReadOnlyList<Multiaddr> bootstrap, string root, int updates)
    {
        var (did, _) = await tenant.CreateExitNodeAsync(policy: new ExitNodePolicy(MaxClones: 100));
        using (var exitNodes = new ExitNodeClient(baseAddress))
        {
            await exitNodes.WaitServedOnLibp2pAsync(did, TimeSpan.FromSeconds(60));
        }

        var config = new SyncConfig(AutoSync: false, MaxBatchSize: 1000, SyncTimeout: 120_000);
        var keys = new List<SigningKey>();
        var order = new List<ILocalClone>();
        try
        {
            // Registered at seq 0, then left behind; in the order they will run: HTTP, libp2p, libp2p, HTTP.
            foreach (var overP2p in new[] { false, true, true, false })
            {
                var key = SigningKey.Generate();
                keys.Add(key);
                order.Add(overP2p
                    ? (await P2pClone.RegisterAsync(bootstrap, did, key, root, config: config)).Clone
                    : (await RemoteClone.RegisterAsync(baseAddress, did, key, root, config: config)).Clone);
            }

            var watch = Stopwatch.StartNew();
            await WriteAsync(tenant, did, updates, "caught");
            Console.WriteLine($"p2p-clone catch-up: {updates:N0} owner updates written in {watch.Elapsed.TotalSeconds:0.0} s; each clone catches up from seq 0 in pages of 1,000");
            var seconds = new Dictionary<bool, double> { [false] = 0, [true] = 0 };
            foreach (var clone in order)
            {
                watch.Restart();
                await clone.Sync.SyncNowAsync();
                var elapsed = watch.Elapsed.TotalSeconds;
                if (clone.Sync.Replica.Cursor != updates)
                {
                    throw new InvalidOperationException($"a clone caught up to {clone.Sync.Replica.Cursor}, not {updates}");
                }

                seconds[clone is P2pClone] += elapsed;
                Console.WriteLine($"  {(clone is P2pClone ? "libp2p" : "HTTP  ")} {elapsed:0.00} s = {updates / elapsed:N0} updates/s");
            }

            Console.WriteLine($"catch-up libp2p / HTTP time = {seconds[true] / seconds[false]:0.00}x (target <= 1)");
        }
        finally
        {
            foreach (var clone in order)
            {
                await clone.DisposeAsync();
            }

            keys.ForEach(k => k.Dispose());
        }
    }

    private static async Task CommitToAppliedAsync(IServiceProvider services, Uri baseAddress, TenantClient tenant, IReadOnlyList<Multiaddr> bootstrap, string root, int clones, int commits, int rate)
    {
        var p2p = await LatenciesAsync(services, baseAddress, tenant, bootstrap, root, clones, commits, rate, overP2p: true);
        var ws = await LatenciesAsync(services, baseAddress, tenant, bootstrap, root, clones, commits, rate, overP2p: false);
        Console.WriteLine($"p2p-clone commit-to-applied: {clones} live clones, {commits} owner writes at {rate}/s, every clone applies every write");
        Console.WriteLine($"  libp2p     p50 {p2p.P50:0.0} ms  p99 {p2p.P99:0.0} ms  ({p2p.Count:N0} deliveries)");
        Console.WriteLine($"  WebSocket  p50 {ws.P50:0.0} ms  p99 {ws.P99:0.0} ms  ({ws.Count:N0} deliveries)");
        Console.WriteLine($"  libp2p / WebSocket: p50 {p2p.P50 / ws.P50:0.00}x, p99 {p2p.P99 / ws.P99:0.00}x");
    }

    private static async Task<Percentiles> LatenciesAsync(
        IServiceProvider services, Uri baseAddress, TenantClient tenant, IReadOnlyList<Multiaddr> bootstrap, string root, int count, int commits, int rate, bool overP2p)
    {
        var (did, _) = await tenant.CreateExitNodeAsync(policy: new ExitNodePolicy(MaxClones: count + 10));
        using (var exitNodes = new ExitNodeClient(baseAddress))
        {
            await exitNodes.WaitServedOnLibp2pAsync(did, TimeSpan.FromSeconds(60));
        }

        var config = new SyncConfig(SyncInterval: 3_600_000, MaxBatchSize: 100);
        var options = new SyncOptions { ReconcileInterval = TimeSpan.FromHours(1) };
        var sent = new ConcurrentDictionary<long, long>();
        var samples = new ConcurrentBag<double>();
        var live = new List<ILocalClone>();
        var keys = new List<SigningKey>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var key = SigningKey.Generate();
                keys.Add(key);
                ILocalClone clone = overP2p
                    ? (await P2pClone.RegisterAsync(bootstrap, did, key, root, config: config, syncOptions: options)).Clone
                    : (await RemoteClone.RegisterAsync(baseAddress, did, key, root, config: config, syncOptions: options)).Clone;
                clone.Sync.UpdateApplied += (_, e) =>
                {
                    if (e.Success && e.Update.Seq is { } seq && sent.TryGetValue(seq, out var at))
                    {
                        samples.Add(Stopwatch.GetElapsedTime(at).TotalMilliseconds);
                    }
                };
                live.Add(clone);
            }

            await Task.WhenAll(live.Select(c => c.StartAsync()));
            if (overP2p)
            {
                var publisher = services.GetRequiredService<CommitPublisher>();
                while (!publisher.PublishingDids.Contains(did))
                {
                    await Task.Delay(50);
                }
            }

            // Settle: one write that every clone applies before anything is measured (meshes formed, grains warm).
            var warm = await WriteAsync(tenant, did, 1, "warm");
            await AllAtAsync(live, warm, TimeSpan.FromSeconds(60));

            var interval = TimeSpan.FromSeconds(1.0 / rate);
            var next = Stopwatch.GetTimestamp();
            long last = 0;
            for (var i = 0; i < commits; i++)
            {
                var seq = warm + i + 1;
                sent[seq] = Stopwatch.GetTimestamp();
                last = await WriteAsync(tenant, did, 1, $"live-{i}");
                if (last != seq)
                {
                    throw new InvalidOperationException($"write {i} committed at {last}, not {seq}");
                }

                next += (long)(interval.TotalSeconds * Stopwatch.Frequency);
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait);
                }
            }

            await AllAtAsync(live, last, TimeSpan.FromSeconds(120));
            return new Percentiles(samples);
        }
        finally
        {
            foreach (var clone in live)
            {
                await clone.DisposeAsync();
            }

            keys.ForEach(k => k.Dispose());
        }
    }

    private static async Task AllAtAsync(IReadOnlyList<ILocalClone> clones, long seq, TimeSpan within)
    {
        var deadline = Stopwatch.StartNew();
        while (clones.Any(c => c.Sync.Replica.Cursor < seq))
        {
            if (deadline.Elapsed > within)
            {
                throw new TimeoutException($"{clones.Count(c => c.Sync.Replica.Cursor < seq)} of {clones.Count} clones never reached seq {seq}");
            }

            await Task.Delay(10);
        }
    }

    private static async Task<long> WriteAsync(TenantClient tenant, string did, int count, string label)
    {
        long last = 0;
        for (var first = 0; first < count; first += WriteBatch)
        {
            var batch = Enumerable.Range(first, Math.Min(WriteBatch, count - first))
                .Select(i => new OwnerUpdate(UpdateType.Memory, UpdateOperation.Create, $"memoryIndex/{label}/{i}", RawJson.From(new JsonObject { ["n"] = i })))
                .ToList();
            var result = await tenant.WriteAsync(did, batch);
            last = result.Outcome == SubmitOutcome.Committed ? result.Receipts[^1].Seq : throw new InvalidOperationException($"write refused: {result.Outcome}");
        }

        return last;
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
