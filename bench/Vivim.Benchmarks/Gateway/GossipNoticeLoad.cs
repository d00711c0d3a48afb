using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Vivim.Client.Http;
using Vivim.Feeds;
using Vivim.Gateway.Hosting;
using Vivim.Gateway.P2p;
using Vivim.Gateway.P2p.Gossip;
using Vivim.Gateway.P2p.Ownership;
using Vivim.Libp2p.Host;
using Vivim.Libp2p.Protocols.Kad;
using Vivim.Libp2p.Protocols.Pubsub;
using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;
using Vivim.Security;

namespace Vivim.Benchmarks.Gateway;

/// <summary>
/// Commit notices on GossipSub: the all-in-one gateway in this process (HTTP API, silo, embedded storage) with a
/// libp2p peer that owns one exit node's DID and publishes its commits on <c>/vivim/sync/&lt;did&gt;</c>, and
/// <c>subscribers</c> Vivim.Libp2p GossipSub peers, each its own host connected to the gateway peer over loopback TCP.
/// The owner writes at a steady rate over HTTP. Usage:
/// <c>dotnet run -c Release -- gossip-notice [subscribers] [writes] [writesPerSecond]</c>.
/// Prints the notice latency (from just before the write's HTTP request is sent until a subscriber's router delivered
/// the commit naming that seq) next to the same run's owner commit round trip (the HTTP POST). Everything shares this
/// process and its cores: the subscribers' Noise, Yamux and signature checks are counted against the gateway.
/// </summary>
internal static class GossipNoticeLoad
{
    public static async Task<int> RunAsync(string[] args)
    {
        int Arg(int i, int fallback) => args.Length > i ? int.Parse(args[i], CultureInfo.InvariantCulture) : fallback;
        var subscriberCount = Arg(1, 100);
        var writes = Arg(2, 300);
        var writesPerSecond = Arg(3, 20);

        var directory = Path.Combine(Path.GetTempPath(), "vivim-gossip-notice-" + Guid.NewGuid().ToString("N"));
        var operatorKey = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        var baseAddress = new Uri($"http://127.0.0.1:{GatewayProcess.FreePort()}");
        var app = GatewayApp.Create(
        [
            "--Vivim:Management:Urls=none", // no dashboard profiling every grain call: not the path measured
            "--urls", baseAddress.ToString(),
            $"--Vivim:DataPath={directory}",
            $"--Vivim:SiloPort={GatewayProcess.FreePort()}",
            $"--Vivim:GatewayPort={GatewayProcess.FreePort()}",
            $"--Vivim:ClusterId=gossip-notice-{baseAddress.Port}",
            $"--Vivim:OperatorKey={operatorKey}",
            $"--Vivim:ClusterSecret={Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))}",
            "--Vivim:RateLimits:PerAddressPerSecond=1000000",
            "--Vivim:Tenants:RequestsPerSecond=1000000",
            "--Vivim:Tenants:UpdatesPerSecond=1000000",
            "--Logging:LogLevel:Default=Warning",
        ]);
        await app.StartAsync();
        var subscribers = new List<(Libp2pHost Host, GossipSub Pubsub)>();
        GatewayPeer? peer = null;
        CommitPublisher? publisher = null;
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(1) };
            using var operatorClient = new OperatorClient(baseAddress, operatorKey, http);
            var (_, apiKey) = await operatorClient.CreateTenantAsync("gossip-notice");
            using var tenant = new TenantClient(baseAddress, apiKey, http);
            var (did, _) = await tenant.CreateExitNodeAsync();
            var topic = CommitTopics.For(did);

            var host = new Libp2pHostBuilder().ListenOn("/ip4/127.0.0.1/tcp/0").WithConnectionLimits(subscriberCount + 64, subscriberCount + 64).Build();
            peer = new GatewayPeer(host, new KadDht(host), new GossipSub(host));
            await host.StartAsync();
            var services = app.Services;
            var client = services.GetRequiredService<IClusterClient>();
            var principals = services.GetRequiredService<CallPrincipals>();
            var options = Options.Create(new CommitGossipOptions());
            var exitNodes = new KnownExitNodes(client, options, TimeProvider.System, NullLogger<KnownExitNodes>.Instance, principals);
            var validator = new CommitValidator(exitNodes, NullLogger<CommitValidator>.Instance);
            publisher = new CommitPublisher(peer, new OneDid(did), client, validator, exitNodes, options, TimeProvider.System, NullLogger<CommitPublisher>.Instance, principals);
            await publisher.StartAsync(CancellationToken.None);

            // Where the time goes: when the gateway's own feed of the DID delivered each commit (a second DidFeed beside the publisher's).
            var arrivals = new ConcurrentDictionary<long, long>();
            await using var arrivalFeed = await DidFeed.StartAsync(client, did, new ArrivalObserver(arrivals), new DidFeedOptions { CallScope = () => principals.Enter(CallPrincipal.Service) });
            var notices = new ConcurrentQueue<(byte[] Data, long At)>();
            var gatewayAddress = host.ListenAddresses[0].WithPeerId(host.PeerId);
            var clock = Stopwatch.StartNew();
            await Parallel.ForAsync(0, subscriberCount, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (_, token) =>
            {
                var subscriberHost = new Libp2pHostBuilder().ListenOn("/ip4/127.0.0.1/tcp/0").Build();
                var pubsub = new GossipSub(subscriberHost);
                pubsub.MessageReceived += (_, m) => notices.Enqueue((m.Data, Stopwatch.GetTimestamp()));
                lock (subscribers)
                {
                    subscribers.Add((subscriberHost, pubsub));
                }

                await subscriberHost.StartAsync(token);
                pubsub.Subscribe(topic);
                await subscriberHost.DialAsync(gatewayAddress, token);
            });
            while (peer.Pubsub.TopicPeers(topic).Count < subscriberCount || !publisher.PublishingDids.Contains(did))
            {
                await Task.Delay(50);
            }

            var opening = clock.Elapsed;

            // Warm up: the first writes pay for JIT and for the stream subscription. Tiered compilation (with its
            // instrumented tier) keeps promoting the 100 subscribers' hot paths for many rounds, so rounds of 60 writes
            // go on until one compiles almost nothing (at most 12 rounds).
            var written = 0;
            for (var round = 0; round < 12; round++)
            {
                var compiledBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
                for (var w = 0; w < 60; w++)
                {
                    await WriteAsync(tenant, did, written++);
                    await Task.Delay(1000 / writesPerSecond);
                }

                if (System.Runtime.JitInfo.GetCompiledMethodCount() - compiledBefore < 10)
                {
                    break;
                }
            }

            Console.WriteLine($"  warm-up: {written} writes");

            // Settle: the warm-up leaves tier-1 JIT compiling in the background for seconds; measure after it is done.
            var idle = await Quiet.SettleAsync(() => Process.GetCurrentProcess().TotalProcessorTime);
            Console.WriteLine($"  idle before measuring: {idle:0.00} cores busy");
            notices.Clear();
            var startedAt = new long[writes];
            var seqs = new long[writes];
            var commits = new double[writes];
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var compiledAtStart = System.Runtime.JitInfo.GetCompiledMethodCount();
            var wallBefore = Stopwatch.GetTimestamp();
            await SteadyRate.RunAsync(writes, writesPerSecond, async index =>
            {
                var started = Stopwatch.GetTimestamp();
                startedAt[index] = started;
                seqs[index] = await WriteAsync(tenant, did, 1000 + index);
                commits[index] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            });
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
            var wall = Stopwatch.GetElapsedTime(wallBefore);
            Console.WriteLine($"  cpu: {cpu.TotalMilliseconds / writes:0.00} ms per write, {cpu / wall:0.00} cores busy; methods compiled while measuring: {System.Runtime.JitInfo.GetCompiledMethodCount() - compiledAtStart:N0}");
            var indexOf = Enumerable.Range(0, writes).ToDictionary(i => seqs[i]);
            var expected = (long)writes * subscriberCount;
            var wait = Stopwatch.StartNew();
            while (Measured(notices, indexOf) < expected && wait.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(50);
            }

            var latencies = new List<double>();
            var firstBySeq = new Dictionary<long, long>();
            var lastBySeq = new Dictionary<long, long>();
            foreach (var (data, at) in notices)
            {
                var commit = ProtocolModel.Parse<Commit>(data);
                if (indexOf.TryGetValue(commit.ToSeq, out var index))
                {
                    latencies.Add(Stopwatch.GetElapsedTime(startedAt[index], at).TotalMilliseconds);
                    firstBySeq[commit.ToSeq] = firstBySeq.TryGetValue(commit.ToSeq, out var f) ? Math.Min(f, at) : at;
                    lastBySeq[commit.ToSeq] = lastBySeq.TryGetValue(commit.ToSeq, out var l) ? Math.Max(l, at) : at;
                }
            }

            // The breakdown: write → the gateway's feed; feed → the first subscriber; first → last subscriber.
            var toFeed = new List<double>();
            var feedToFirst = new List<double>();
            var spread = new List<double>();
            foreach (var (seq, index) in indexOf)
            {
                if (arrivals.TryGetValue(seq, out var arrived) && firstBySeq.TryGetValue(seq, out var first))
                {
                    toFeed.Add(Stopwatch.GetElapsedTime(startedAt[index], arrived).TotalMilliseconds);
                    feedToFirst.Add(Stopwatch.GetElapsedTime(arrived, first).TotalMilliseconds);
                    spread.Add(Stopwatch.GetElapsedTime(first, lastBySeq[seq]).TotalMilliseconds);
                }
            }

            var (feedP, firstP, spreadP) = (new Percentiles(toFeed), new Percentiles(feedToFirst), new Percentiles(spread));
            Console.WriteLine(
                $"  breakdown: write -> gateway feed p50 {feedP.P50:0.0} ms, p99 {feedP.P99:0.0} ms; " +
                $"feed -> first subscriber p50 {firstP.P50:0.0} ms, p99 {firstP.P99:0.0} ms; first -> last subscriber p50 {spreadP.P50:0.0} ms, p99 {spreadP.P99:0.0} ms");

            var notice = new Percentiles(latencies);
            var commit99 = new Percentiles(commits);
            var ratio = notice.P99 / commit99.P99;
            Console.WriteLine(
                $"1 DID x {subscriberCount} GossipSub subscribers (Vivim.Libp2p, loopback TCP, connected in {opening.TotalSeconds:0.0} s): " +
                $"{writes} writes at {writesPerSecond}/s, {notice.Count:N0} of {expected:N0} notices, p50 {notice.P50:0.0} ms, p99 {notice.P99:0.0} ms, max {notice.At(1):0.0} ms; " +
                $"commit round trip (POST /v1/exit-nodes/{{did}}/updates) p50 {commit99.P50:0.0} ms, p99 {commit99.P99:0.0} ms; " +
                $"notice p99 / commit p99 = {ratio:0.00}x (target <= 2x: {(ratio <= 2 ? "met" : "missed")})");
            return notice.Count == expected ? 0 : 1;
        }
        finally
        {
            if (publisher is not null)
            {
                await publisher.StopAsync(CancellationToken.None);
            }

            foreach (var (subscriberHost, pubsub) in subscribers)
            {
                await pubsub.DisposeAsync();
                await subscriberHost.DisposeAsync();
            }

            if (peer is not null)
            {
                await peer.Pubsub.DisposeAsync();
                peer.Dht.Dispose();
                await peer.Host.DisposeAsync();
            }

            await app.StopAsync();
            await app.DisposeAsync();
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>Notices of measured writes so far (a write's seq is known once its POST returned).</summary>
    private static long Measured(ConcurrentQueue<(byte[] Data, long At)> notices, Dictionary<long, int> indexOf) =>
        notices.Count(n => indexOf.ContainsKey(ProtocolModel.Parse<Commit>(n.Data).ToSeq));

    private static async Task<long> WriteAsync(TenantClient tenant, string did, int i)
    {
        var id = "gossip-" + i.ToString(CultureInfo.InvariantCulture);
        var result = await tenant.WriteAsync(did, [new OwnerUpdate(UpdateType.Memory, UpdateOperation.Create, $"memoryIndex/{id}", new RawJson("{\"i\":" + i.ToString(CultureInfo.InvariantCulture) + "}"), id)]);
        if (result.Outcome != SubmitOutcome.Committed)
        {
            throw new InvalidOperationException($"Write {id} refused: {result.Rejections[0].Code} {result.Rejections[0].Reason}");
        }

        return result.Receipts[0].Seq;
    }

    /// <summary>Notes when each commit reached the gateway.</summary>
    private sealed class ArrivalObserver(ConcurrentDictionary<long, long> arrivals) : IDidFeedObserver
    {
        public ValueTask OnCommittedAsync(CommittedBatch batch)
        {
            arrivals.TryAdd(batch.Commit.ToSeq, Stopwatch.GetTimestamp());
            return ValueTask.CompletedTask;
        }

        public ValueTask OnHeadAsync(long headSeq) => ValueTask.CompletedTask;

        public ValueTask OnRevokedAsync(CloneAccessRevoked revoked) => ValueTask.CompletedTask;
    }

    /// <summary>This gateway owns the one DID measured.</summary>
    private sealed class OneDid(string did) : IDidOwnership
    {
        public bool Owns(string candidate) => string.Equals(candidate, did, StringComparison.Ordinal);

        public IReadOnlyCollection<string> OwnedDids => [did];

        public event EventHandler<DidOwnershipChange>? Changed { add { } remove { } }
    }
}
