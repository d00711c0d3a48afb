using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Vivim.Benchmarks.Cluster;
using Vivim.Client.Http;
using Vivim.Client.Transports;
using Vivim.ExitNodes;
using Vivim.Feeds;
using Vivim.Protocol;
using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Http;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Benchmarks.Gateway;

/// <summary>
/// Fan-out through the real gateway process on loopback: one hosted exit node, many clones registered through the
/// public SDK flow (<see cref="ExitNodeClient.RegisterCloneAsync"/>: advertisement, challenge, register), each holding a
/// live WebSocket sync session; the owner then writes at a steady rate over HTTP. Usage:
/// <c>dotnet run -c Release -- gateway-fanout [clones] [writes] [writesPerSecond] [raw|sdk] [--dids N] [--clones N]
/// [--capacity [--step-seconds S] [--max-steps K]]</c>.
/// Prints per-clone delivery latency (from just before the write's HTTP request is sent until a clone's socket has the
/// batch holding that update) next to the same run's baseline: the owner's commit round trip (the HTTP POST), and the
/// gateway's CPU per delivery. With <c>--dids</c> the clones follow that many exit nodes (clone i the DID i mod N) and
/// write i goes to DID i mod N. With <c>--capacity</c> the write rate doubles each step (of S seconds) until delivery
/// p99 passes 100 ms or deliveries go missing (or, when the first step does not hold, halves until one does), and the same steps then run against <see cref="FanoutSocketBaseline"/>
/// (the same number of sockets in the same groups, sent the frame the gateway sent): the two capacities and their ratio.
/// </summary>
/// <remarks>
/// Sessions are <c>raw</c> by default: a bare <see cref="ClientWebSocket"/> per clone that speaks the documented channel
/// (signed upgrade, hello, welcome, then batches, each acknowledged at once so <c>maxInFlight</c> never stalls it) and
/// reads of each batch frame only the updates' <c>updateId</c> and <c>seq</c> with a forward-only JSON reader. With
/// <c>sdk</c> each clone runs the client library's own session (<see cref="HttpSyncTransport.SubscribeAsync"/>: the
/// same channel, parsing every frame into full updates and commits) with an observer that only timestamps and
/// acknowledges; a complete clone would also verify every commit's signature and Merkle proofs and save its replica.
/// A thousand such clones in one process on two cores, which the gateway shares, would measure the clients: 20 writes
/// per second are 20,000 deliveries per second here. Even without any verification the SDK sessions cost this process
/// about 0.8 of a core against 0.5 for raw ones, and moved delivery p99 from 90 to 140 ms (2 cores, 1,000 clones). The
/// raw reader keeps the client's cost per delivery to a socket read and a short scan, and still observes each update's
/// id in the frame it arrived in.
/// </remarks>
internal static class GatewayFanoutLoad
{
    private const string MeasuredPrefix = "fanout-";
    private const double CapacityP99Ms = 100;
    private static readonly byte[] MeasuredPrefixUtf8 = Encoding.UTF8.GetBytes(MeasuredPrefix);

    /// <summary>What to run: positional <c>[clones] [writes] [writesPerSecond] [raw|sdk]</c>, then options.</summary>
    private sealed record Options(int Clones, int Dids, int Writes, int WritesPerSecond, bool Sdk, bool Capacity, double StepSeconds, int MaxSteps)
    {
        public static Options Parse(string[] args)
        {
            var positional = new List<string>();
            var (dids, capacity, stepSeconds, maxSteps, clones) = (1, false, 5.0, 8, (int?)null);
            for (var i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
                switch (args[i])
                {
                    case "--dids":
                        dids = int.Parse(Next(), CultureInfo.InvariantCulture);
                        break;
                    case "--clones":
                        clones = int.Parse(Next(), CultureInfo.InvariantCulture);
                        break;
                    case "--capacity":
                        capacity = true;
                        break;
                    case "--step-seconds":
                        stepSeconds = double.Parse(Next(), CultureInfo.InvariantCulture);
                        break;
                    case "--max-steps":
                        maxSteps = int.Parse(Next(), CultureInfo.InvariantCulture);
                        break;
                    default:
                        positional.Add(args[i]);
                        break;
                }
            }

            int Arg(int i, int fallback) => positional.Count > i ? int.Parse(positional[i], CultureInfo.InvariantCulture) : fallback;
            var sdk = positional.Count > 3 && positional[3] switch
            {
                "sdk" => true,
                "raw" => false,
                _ => throw new ArgumentException($"Sessions are 'raw' or 'sdk', not '{positional[3]}'."),
            };
            var options = new Options(clones ?? Arg(0, 1000), dids, Arg(1, 300), Arg(2, 20), sdk, capacity, stepSeconds, maxSteps);
            if (options.Dids < 1 || options.Clones < options.Dids || options.Writes < 1 || options.WritesPerSecond < 1 || options.StepSeconds <= 0 || options.MaxSteps < 1)
            {
                throw new ArgumentException("Needs 1 <= dids <= clones, writes >= 1, writesPerSecond >= 1, --step-seconds > 0, --max-steps >= 1.");
            }

            return options;
        }

        /// <summary>Clone <paramref name="clone"/> follows DID number clone % Dids; write i goes to DID i % Dids.</summary>
        public int ClonesOf(int did) => (Clones / Dids) + (did < Clones % Dids ? 1 : 0);
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var options = Options.Parse(args[1..]);

        // Registration and a thousand sessions from one loopback address: the buckets are raised out of the way.
        var perDid = (options.Clones + options.Dids - 1) / options.Dids;
        var settings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Vivim__RateLimits__PerAddressPerSecond"] = "1000000",
            ["Vivim__RateLimits__PerDidPerSecond"] = "1000000",
            ["Vivim__Tenants__MaxExitNodes"] = Math.Max(100, options.Dids).ToString(CultureInfo.InvariantCulture),
            ["Vivim__Tenants__MaxClonesPerExitNode"] = Math.Max(1000, perDid).ToString(CultureInfo.InvariantCulture),
            ["Vivim__Tenants__RequestsPerSecond"] = "1000000",
            ["Vivim__Tenants__UpdatesPerSecond"] = "1000000",
        };
        // Not a ratio here, but this machine's speed at the moment: shared hosts vary, and latency with them.
        Console.WriteLine($"Ed25519 verify bound (all {Environment.ProcessorCount} cores, before the gateway starts): {IngestLoad.MeasureVerifyBound(TimeSpan.FromSeconds(2)):N0}/s");
        var code = await GatewayProcess.RunAsync("gateway-fanout", settings, gateway => MeasureAsync(gateway, options));
        Console.WriteLine($"Ed25519 verify bound (after): {IngestLoad.MeasureVerifyBound(TimeSpan.FromSeconds(2)):N0}/s");
        return code;
    }

    private static async Task MeasureAsync(GatewayProcess gateway, Options options)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(1) };
        using var operatorClient = new OperatorClient(gateway.BaseAddress, gateway.OperatorKey, http);
        var (_, apiKey) = await operatorClient.CreateTenantAsync("gateway-fanout");
        using var tenant = new TenantClient(gateway.BaseAddress, apiKey, http);
        var clock = Stopwatch.StartNew();
        var dids = new string[options.Dids];
        await Parallel.ForAsync(0, options.Dids, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (d, token) =>
        {
            (dids[d], _) = await tenant.CreateExitNodeAsync(policy: new ExitNodePolicy(MaxClones: options.ClonesOf(d), AllowMigration: true, RequireVerification: true));
        });

        var registered = new (SigningKey Key, string CloneId, long Cursor)[options.Clones];
        using (var exitNodes = new ExitNodeClient(gateway.BaseAddress, http))
        {
            await Parallel.ForAsync(0, options.Clones, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, token) =>
            {
                var key = SigningKey.Generate();
                var result = await exitNodes.RegisterCloneAsync(dids[i % options.Dids], key, cancellationToken: token);
                registered[i] = (key, result.CloneId, result.Response.InitialState!.Seq ?? 0);
            });
        }

        var registration = clock.Elapsed;
        clock.Restart();
        var recorder = new DeliveryRecorder();
        var sessions = new IFanoutSession[options.Clones];
        var shape = $"{options.Dids:N0} DID{(options.Dids == 1 ? string.Empty : "s")} x {options.Clones:N0} clones";
        var steps = new List<Step>();
        try
        {
            await Parallel.ForAsync(0, options.Clones, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, token) =>
            {
                var (key, cloneId, cursor) = registered[i];
                sessions[i] = options.Sdk
                    ? await SdkSession.OpenAsync(gateway.BaseAddress, key, cloneId, cursor, recorder, token)
                    : await RawSession.OpenAsync(gateway.BaseAddress, key, cloneId, cursor, recorder, token);
            });
            var opening = clock.Elapsed;
            Console.WriteLine($"{shape}, {(options.Sdk ? "SDK" : "raw")} WebSocket sessions: exit nodes and clones registered in {registration.TotalSeconds:0.0} s, sessions opened in {opening.TotalSeconds:0.0} s");

            // Warm up: the first writes pay for JIT in both processes and for each DID's listener. 60 writes left a fifth
            // of the gateway's samples in the JIT during the measured step (tiered compilation had not settled).
            await SteadyRate.RunAsync(WarmUpWrites(options), Math.Max(options.WritesPerSecond, 50), async w =>
                await WriteAsync(tenant, dids[w % options.Dids], $"warm-up-{w}", w));
            await Task.Delay(1000);

            var rate = options.WritesPerSecond;
            var writes = options.Capacity ? (int)Math.Ceiling(rate * options.StepSeconds) : options.Writes;
            for (var s = 0; s < (options.Capacity ? options.MaxSteps : 1); s++)
            {
                var head = 0L;
                var step = await RunStepAsync(recorder, options, rate, writes, new CpuShare(gateway), async index =>
                {
                    var w = recorder.Local(index);
                    var started = recorder.Written(index);
                    var seq = await WriteAsync(tenant, dids[w % options.Dids], MeasuredPrefix + index.ToString(CultureInfo.InvariantCulture), w);
                    Seqs.RaiseTo(ref head, seq);
                    return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                });
                steps.Add(step);
                Console.WriteLine($"gateway  {step}; baseline commit round trip (POST /v1/exit-nodes/{{did}}/updates) p50 {step.Commit.P50:0.0} ms, p99 {step.Commit.P99:0.0} ms");
                if (step.Missing > 0)
                {
                    ReportMissing(gateway, sessions, step.Missing);
                }

                if (!NextRate(steps, ref rate))
                {
                    break;
                }

                writes = (int)Math.Ceiling(rate * options.StepSeconds);
            }
        }
        finally
        {
            await Task.WhenAll(sessions.Where(s => s is not null).Select(s => s.DisposeAsync().AsTask()));
        }

        if (!options.Capacity)
        {
            var only = steps[0];
            Console.WriteLine(
                $"{shape}: {only.Writes} writes at {only.Rate}/s, {only.Delivery.Count:N0} deliveries, p50 {only.Delivery.P50:0.0} ms, p99 {only.Delivery.P99:0.0} ms, max {only.Delivery.At(1):0.0} ms; " +
                $"baseline commit round trip p50 {only.Commit.P50:0.0} ms, p99 {only.Commit.P99:0.0} ms; delivery p99 / commit p99 = {only.Delivery.P99 / only.Commit.P99:0.0}x; " +
                $"delivery after the write's own round trip p50 {only.AfterCommit.P50:0.0} ms, p99 {only.AfterCommit.P99:0.0} ms; " +
                $"{only.Cpu}, {only.CpuPerDeliveryUs:0.0} µs of gateway CPU per delivery");
            return;
        }

        var template = recorder.Template ?? throw new InvalidOperationException("No batch frame with a single measured update was captured from the gateway.");
        var baselineSteps = await MeasureBaselineAsync(options, recorder, template);
        var capacity = steps.Where(s => s.Held).Select(s => s.DeliveriesPerSecond).DefaultIfEmpty(0).Max();
        var baseline = baselineSteps.Where(s => s.Held).Select(s => s.DeliveriesPerSecond).DefaultIfEmpty(0).Max();
        var gatewayCpu = steps[0].CpuPerDeliveryUs;
        var baselineCpu = baselineSteps[0].CpuPerDeliveryUs;
        Console.WriteLine(
            $"{shape}: fan-out capacity (deliveries/s sustained with p99 <= {CapacityP99Ms} ms) gateway {Figure(capacity, steps)}, socket baseline {Figure(baseline, baselineSteps)}; " +
            $"ratio {(baseline > 0 ? (capacity / baseline).ToString("P0", CultureInfo.InvariantCulture) : "n/a")} (target >= 50 %); " +
            $"server CPU per delivery at {options.WritesPerSecond} writes/s: gateway {gatewayCpu:0.0} µs, baseline {baselineCpu:0.0} µs ({gatewayCpu / baselineCpu:0.0}x)");
    }

    /// <summary>Warm-up writes: every DID written once, and at least 400 (eight seconds at 50/s) for tiered compilation to settle.</summary>
    private static int WarmUpWrites(Options options) => Math.Max(400, Math.Min(options.Dids, 2000));

    /// <summary>
    /// The ladder: up (doubling) while steps hold; when the first step does not, down (halving) until one does. False
    /// when the capacity is bracketed (or the rate cannot go lower).
    /// </summary>
    private static bool NextRate(List<Step> steps, ref int rate)
    {
        var last = steps[^1];
        if (last.Held && steps.All(s => s.Held))
        {
            rate *= 2;
            return true;
        }

        if (!last.Held && steps.All(s => !s.Held) && rate > 1)
        {
            rate /= 2;
            return true;
        }

        return false;
    }

    private static string Figure(double capacity, List<Step> steps) =>
        capacity > 0 ? capacity.ToString("N0", CultureInfo.InvariantCulture) + "/s" + (steps.All(s => s.Held) ? " (or more: every step held)" : string.Empty) : $"below the lowest step ({steps.Min(s => s.DeliveriesPerSecond):N0}/s)";

    /// <summary>
    /// The same steps against <see cref="FanoutSocketBaseline"/>: as many raw sockets, grouped as the clones are by DID,
    /// receiving the frame the gateway sent for one update (with the update id renumbered), read and acknowledged alike.
    /// </summary>
    private static async Task<List<Step>> MeasureBaselineAsync(Options options, DeliveryRecorder recorder, (string Frame, string UpdateId) template)
    {
        using var server = await FanoutSocketBaseline.Server.StartAsync();
        using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMinutes(1) };
        var sockets = new IFanoutSession[options.Clones];
        var steps = new List<Step>();
        try
        {
            await Parallel.ForAsync(0, options.Clones, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, token) =>
                sockets[i] = await RawSession.OpenBaselineAsync(server.BaseAddress, i % options.Dids, recorder, token));
            async Task SendFrameAsync(int did, string updateId)
            {
                var frame = Encoding.UTF8.GetBytes(template.Frame.Replace(template.UpdateId, updateId, StringComparison.Ordinal));
                using var content = new ByteArrayContent(frame);
                using var response = await http.PostAsync(new Uri("send/" + did.ToString(CultureInfo.InvariantCulture), UriKind.Relative), content);
                response.EnsureSuccessStatusCode();
            }

            async Task<double> SendAsync(int index)
            {
                var started = recorder.Written(index);
                await SendFrameAsync(recorder.Local(index) % options.Dids, MeasuredPrefix + index.ToString(CultureInfo.InvariantCulture));
                return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }

            await SteadyRate.RunAsync(WarmUpWrites(options), Math.Max(options.WritesPerSecond, 50), w =>
                SendFrameAsync(w % options.Dids, $"warm-up-{w}"));
            await Task.Delay(1000);
            var rate = options.WritesPerSecond;
            for (var s = 0; s < options.MaxSteps; s++)
            {
                var step = await RunStepAsync(recorder, options, rate, (int)Math.Ceiling(rate * options.StepSeconds), new CpuShare(() => server.CpuTime), SendAsync);
                steps.Add(step);
                Console.WriteLine($"baseline {step}");
                if (!NextRate(steps, ref rate))
                {
                    break;
                }
            }
        }
        finally
        {
            await Task.WhenAll(sockets.Where(s => s is not null).Select(s => s.DisposeAsync().AsTask()));
        }

        return steps;
    }

    /// <summary>One step: <paramref name="writes"/> sends at <paramref name="rate"/>/s, then up to 30 s for their deliveries.</summary>
    private static async Task<Step> RunStepAsync(DeliveryRecorder recorder, Options options, int rate, int writes, CpuShare cpu, Func<int, Task<double>> send)
    {
        var expected = 0L;
        for (var w = 0; w < writes; w++)
        {
            expected += options.ClonesOf(w % options.Dids);
        }

        var first = recorder.BeginStep(writes, expected);
        var commits = new double[writes];
        var wall = Stopwatch.StartNew();
        await SteadyRate.RunAsync(writes, rate, async w => commits[w] = await send(first + w));
        var deadline = Stopwatch.StartNew();
        while (recorder.Count < expected && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(20);
        }

        var elapsed = wall.Elapsed.TotalSeconds;
        var use = cpu.Measure();
        await Task.Delay(500); // stragglers of this step are not the next one's
        return new Step(rate, writes, expected * (double)rate / writes, new Percentiles(recorder.Latencies), new Percentiles(commits), new Percentiles(recorder.AfterCommit(commits)), expected - recorder.Count, use, use.Gateway * elapsed * 1e6 / expected);
    }

    /// <summary>
    /// A step's outcome: held when every delivery arrived and p99 stayed within the capacity bound. Deliveries per
    /// second are those offered (the write rate times the clones per write); CPU per delivery is the server's CPU from
    /// the step's first send until its last delivery (or the wait's end) over the deliveries.
    /// </summary>
    private sealed record Step(int Rate, int Writes, double DeliveriesPerSecond, Percentiles Delivery, Percentiles Commit, Percentiles AfterCommit, long Missing, CpuUse Cpu, double CpuPerDeliveryUs)
    {
        public bool Held => Missing == 0 && Delivery.P99 <= CapacityP99Ms;

        public override string ToString() =>
            $"{Writes} writes at {Rate}/s: {Delivery.Count:N0} deliveries ({DeliveriesPerSecond:N0}/s), p50 {Delivery.P50:0.0} ms, p99 {Delivery.P99:0.0} ms, max {Delivery.At(1):0.0} ms{(Missing > 0 ? $", {Missing:N0} missing" : string.Empty)}, " +
            $"after the write's own round trip p50 {AfterCommit.P50:0.0} ms, p99 {AfterCommit.P99:0.0} ms " +
            $"({(Held ? "held" : "not held")}); CPU server {Cpu.Gateway:0.00} cores, bench {Cpu.Bench:0.00} cores (of {Environment.ProcessorCount}), {CpuPerDeliveryUs:0.0} µs of server CPU per delivery";
    }

    /// <summary>Which sessions failed, with the gateway's log kept.</summary>
    private static void ReportMissing(GatewayProcess gateway, IFanoutSession[] sessions, long missing)
    {
        var failed = sessions.Where(s => s?.Failure is not null).ToList();
        Console.WriteLine($"warning: {missing:N0} deliveries missing after 30 s; {failed.Count} sessions failed{(failed.Count > 0 ? $", e.g. {failed[0].CloneId}: " + failed[0].Failure : string.Empty)}; gateway log kept: {gateway.LogPath}");
        gateway.KeepFiles = true;
    }

    /// <summary>One owner write of one update; returns its seq.</summary>
    private static async Task<long> WriteAsync(TenantClient tenant, string did, string updateId, int i)
    {
        var result = await tenant.WriteAsync(did, [new OwnerUpdate(UpdateType.Memory, UpdateOperation.Create, $"memoryIndex/{updateId}", new RawJson("{\"i\":" + i.ToString(CultureInfo.InvariantCulture) + "}"), updateId)]);
        if (result.Outcome != SubmitOutcome.Committed)
        {
            throw new InvalidOperationException($"Write {updateId} refused: {result.Rejections[0].Code} {result.Rejections[0].Reason}");
        }

        return result.Receipts[0].Seq;
    }

    /// <summary>
    /// When each measured write was sent (indexed by the number in its updateId, counted over all steps), and the
    /// current step's delivery latencies. Warm-up writes have other ids; deliveries of an earlier step are not counted.
    /// Also keeps the first batch frame that held exactly one measured update, for the baseline to send.
    /// </summary>
    private sealed class DeliveryRecorder
    {
        private const int MaxIndexes = 1 << 22;
        private readonly long[] _writtenAt = new long[MaxIndexes];
        private double[] _latencies = [];
        private int[] _writeOf = [];
        private int _first;
        private int _next;
        private int _count;

        public long Count => Volatile.Read(ref _count);

        public IEnumerable<double> Latencies => _latencies.Take((int)Math.Min(Count, _latencies.Length));

        /// <summary>
        /// Each delivery's latency less its own write's round trip (<paramref name="commits"/>, by write within the
        /// step): what the fan-out added after the commit was answered (negative when the batch arrived first). On a
        /// loaded host the commit path's own tail moves delivery latency; this part is the hub's and the sessions'.
        /// </summary>
        public IEnumerable<double> AfterCommit(double[] commits) =>
            Enumerable.Range(0, (int)Math.Min(Count, _latencies.Length)).Select(i => _latencies[i] - commits[_writeOf[i]]);

        public (string Frame, string UpdateId)? Template { get; private set; }

        /// <summary>Starts a step of <paramref name="writes"/>; returns its first index.</summary>
        public int BeginStep(int writes, long expected)
        {
            _first = _next;
            _next += writes;
            if (_next > MaxIndexes)
            {
                throw new InvalidOperationException("Too many writes for one run.");
            }

            _latencies = new double[expected];
            _writeOf = new int[expected];
            Volatile.Write(ref _count, 0);
            return _first;
        }

        /// <summary>The write's number within its step (which DID it goes to).</summary>
        public int Local(int index) => index - _first;

        /// <summary>Called just before write <paramref name="index"/> is sent; returns that instant.</summary>
        public long Written(int index)
        {
            var now = Stopwatch.GetTimestamp();
            Volatile.Write(ref _writtenAt[index], now);
            return now;
        }

        public void OfferTemplate(ReadOnlySpan<byte> frame, ReadOnlySpan<byte> updateId)
        {
            if (Template is null)
            {
                Template = (Encoding.UTF8.GetString(frame), Encoding.UTF8.GetString(updateId));
            }
        }

        /// <summary>An update with <paramref name="updateId"/> reached a clone at <paramref name="receivedAt"/>.</summary>
        /// <returns>Whether it was a measured write.</returns>
        public bool Delivered(ReadOnlySpan<byte> updateId, long receivedAt)
        {
            var prefix = MeasuredPrefixUtf8;
            if (!updateId.StartsWith(prefix) ||
                !Utf8Parser.TryParse(updateId[prefix.Length..], out int index, out var consumed) || consumed != updateId.Length - prefix.Length ||
                (uint)index >= (uint)_writtenAt.Length)
            {
                return false;
            }

            var writtenAt = Volatile.Read(ref _writtenAt[index]);
            if (writtenAt == 0)
            {
                throw new InvalidOperationException($"Write {index} was delivered before it was sent.");
            }

            if (index < _first)
            {
                return true; // an earlier step's, arriving late
            }

            var latencies = _latencies;
            var slot = Interlocked.Increment(ref _count) - 1;
            if (slot < latencies.Length)
            {
                latencies[slot] = Stopwatch.GetElapsedTime(writtenAt, receivedAt).TotalMilliseconds;
                _writeOf[slot] = index - _first;
            }

            return true;
        }
    }

    private interface IFanoutSession : IAsyncDisposable
    {
        /// <summary>Why the session ended early, if it did.</summary>
        string? Failure { get; }

        string CloneId { get; }

        /// <summary>Measured writes this clone received.</summary>
        int Measured { get; }

        /// <summary>The last seq this clone received.</summary>
        long LastSeq { get; }
    }

    /// <summary>A bare WebSocket speaking the documented channel; see the class remarks for why.</summary>
    private sealed class RawSession : IFanoutSession
    {
        private readonly ClientWebSocket _socket;
        private readonly DeliveryRecorder _recorder;
        private readonly CancellationTokenSource _stop = new();
        private Task _reading = Task.CompletedTask;
        private byte[] _buffer = new byte[16 * 1024];
        private volatile bool _leaving;

        private RawSession(string cloneId, ClientWebSocket socket, DeliveryRecorder recorder)
        {
            CloneId = cloneId;
            _socket = socket;
            _recorder = recorder;
        }

        public string? Failure { get; private set; }

        public string CloneId { get; }

        public int Measured { get; private set; }

        public long LastSeq { get; private set; }

        public static async Task<RawSession> OpenAsync(Uri gateway, SigningKey key, string cloneId, long cursor, DeliveryRecorder recorder, CancellationToken token)
        {
            var target = $"/v1/clones/{cloneId}/sync";
            var headers = CloneRequestSigner.SignTarget(key, "GET", target, [], hasBody: false);
            var socket = new ClientWebSocket();
            try
            {
                socket.Options.SetRequestHeader(HttpMessageSignature.SignatureInputHeader, headers.SignatureInput);
                socket.Options.SetRequestHeader(HttpMessageSignature.SignatureHeader, headers.Signature);
                await socket.ConnectAsync(new UriBuilder(new Uri(gateway, target)) { Scheme = "ws" }.Uri, token);
                var (hello, type) = SyncChannelCodec.Encode(SyncChannelCodec.Hello(cursor, maxBatchSize: 100, compression: false), compress: false);
                await socket.SendAsync(hello, type, endOfMessage: true, token);
                var welcome = await SyncChannelCodec.ReceiveAsync(socket, SyncChannelCodec.DefaultMaxMessageBytes, token)
                    ?? throw new InvalidOperationException($"The gateway closed {cloneId}'s session before its welcome.");
                if (SyncChannelCodec.Parse(SyncChannelCodec.Decode(welcome.Payload, welcome.Type)) is not WelcomeMessage)
                {
                    throw new InvalidOperationException($"{cloneId}'s session did not start with a welcome.");
                }
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            var session = new RawSession(cloneId, socket, recorder);
            session._reading = Task.Run(session.ReadAsync, CancellationToken.None);
            return session;
        }

        /// <summary>A socket of the <see cref="FanoutSocketBaseline"/> server's group <paramref name="group"/>: no hello, frames at once.</summary>
        public static async Task<RawSession> OpenBaselineAsync(Uri server, int group, DeliveryRecorder recorder, CancellationToken token)
        {
            var socket = new ClientWebSocket();
            try
            {
                await socket.ConnectAsync(new UriBuilder(new Uri(server, "sockets/" + group.ToString(CultureInfo.InvariantCulture))) { Scheme = "ws" }.Uri, token);
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            var session = new RawSession("baseline-" + group.ToString(CultureInfo.InvariantCulture), socket, recorder);
            session._reading = Task.Run(session.ReadAsync, CancellationToken.None);
            return session;
        }

        private async Task ReadAsync()
        {
            try
            {
                while (true)
                {
                    var length = 0;
                    ValueWebSocketReceiveResult result;
                    do
                    {
                        if (length == _buffer.Length)
                        {
                            Array.Resize(ref _buffer, _buffer.Length * 2);
                        }

                        result = await _socket.ReceiveAsync(_buffer.AsMemory(length), _stop.Token);
                        length += result.Count;
                    }
                    while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        if (!_leaving)
                        {
                            Failure ??= $"closed by the gateway: {_socket.CloseStatus} {_socket.CloseStatusDescription}";
                        }

                        return;
                    }

                    var last = Scan(_buffer.AsSpan(0, length), Stopwatch.GetTimestamp(), _recorder, out var measured);
                    if (measured == 1 && _recorder.Template is null)
                    {
                        CaptureTemplate(_buffer.AsSpan(0, length));
                    }

                    Measured += measured;
                    if (last >= 0)
                    {
                        LastSeq = last;
                        // Acknowledged as soon as it is read: the gateway holds back batches beyond maxInFlight.
                        await _socket.SendAsync(Encoding.UTF8.GetBytes("{\"type\":\"ack\",\"seq\":" + last.ToString(CultureInfo.InvariantCulture) + "}"), WebSocketMessageType.Text, endOfMessage: true, _stop.Token);
                    }
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
            }
            catch (Exception e) when (e is WebSocketException or JsonException or InvalidOperationException)
            {
                if (!_leaving)
                {
                    Failure = e.Message;
                }
            }
        }

        /// <summary>Offers a batch frame holding exactly one update, with that update's id, as the baseline's frame.</summary>
        private void CaptureTemplate(ReadOnlySpan<byte> frame)
        {
            var reader = new Utf8JsonReader(frame);
            string? updateId = null;
            var updates = 0;
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 3 && reader.ValueTextEquals("updateId"u8))
                {
                    reader.Read();
                    updateId = reader.GetString();
                    updates++;
                }
            }

            if (updates == 1 && updateId is not null && updateId.StartsWith(MeasuredPrefix, StringComparison.Ordinal))
            {
                _recorder.OfferTemplate(frame, Encoding.UTF8.GetBytes(updateId));
            }
        }

        /// <summary>
        /// The last seq of a batch frame (−1 for anything else), recording each update's delivery on the way. Reads the
        /// frame up to the end of <c>updates</c> only (the gateway writes <c>type</c> first): commits are not needed here.
        /// </summary>
        private static long Scan(ReadOnlySpan<byte> frame, long receivedAt, DeliveryRecorder recorder, out int measured)
        {
            measured = 0;
            var reader = new Utf8JsonReader(frame);
            reader.Read();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    if (!reader.ValueTextEquals("batch"u8))
                    {
                        return -1;
                    }
                }
                else if (reader.ValueTextEquals("updates"u8))
                {
                    reader.Read();
                    var last = -1L;
                    while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                    {
                        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                        {
                            if (reader.ValueTextEquals("updateId"u8))
                            {
                                reader.Read();
                                if (recorder.Delivered(reader.ValueSpan, receivedAt))
                                {
                                    measured++;
                                }
                            }
                            else if (reader.ValueTextEquals("seq"u8))
                            {
                                reader.Read();
                                last = Math.Max(last, reader.GetInt64());
                            }
                            else
                            {
                                reader.Read();
                                reader.Skip();
                            }
                        }
                    }

                    return last;
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            return -1;
        }

        /// <summary>Closes as a clone leaving would (the gateway answers the close frame); aborts if that takes too long.</summary>
        public async ValueTask DisposeAsync()
        {
            _leaving = true;
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
                await _reading.WaitAsync(timeout.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or InvalidOperationException or TimeoutException)
            {
            }

            await _stop.CancelAsync();
            _socket.Abort();
            await _reading;
            _socket.Dispose();
            _stop.Dispose();
        }
    }

    /// <summary>The client library's live session with an observer that only timestamps and acknowledges.</summary>
    private sealed class SdkSession : IFanoutSession, ILiveSyncObserver
    {
        private readonly HttpSyncTransport _transport;
        private readonly DeliveryRecorder _recorder;
        private ILiveSubscription? _subscription;
        private long _cursor;

        private SdkSession(HttpSyncTransport transport, DeliveryRecorder recorder, long cursor)
        {
            _transport = transport;
            _recorder = recorder;
            _cursor = cursor;
        }

        public string? Failure { get; private set; }

        public string CloneId => _transport.CloneId;

        public int Measured { get; private set; }

        public long LastSeq => Cursor;

        public long Cursor => Interlocked.Read(ref _cursor);

        public SyncConfig Config { get; } = new();

        public static async Task<SdkSession> OpenAsync(Uri gateway, SigningKey key, string cloneId, long cursor, DeliveryRecorder recorder, CancellationToken token)
        {
            var session = new SdkSession(new HttpSyncTransport(gateway, key, cloneId), recorder, cursor);
            session._subscription = await session._transport.SubscribeAsync(session, token);
            return session;
        }

        public async ValueTask OnUpdatesAsync(LiveUpdates updates)
        {
            var receivedAt = Stopwatch.GetTimestamp();
            if (updates.Updates.Count == 0)
            {
                return;
            }

            foreach (var update in updates.Updates)
            {
                if (_recorder.Delivered(Encoding.UTF8.GetBytes(update.UpdateId), receivedAt))
                {
                    Measured++;
                }
            }

            var last = updates.Updates[^1].Seq ?? Cursor;
            Interlocked.Exchange(ref _cursor, last);
            await _transport.AcknowledgeAsync(last, string.Empty, CancellationToken.None);
        }

        public ValueTask OnBatchAsync(CommittedBatch batch) => ValueTask.CompletedTask;

        public ValueTask OnHeadAsync(long headSeq) => ValueTask.CompletedTask;

        public ValueTask OnRevokedAsync(string reason)
        {
            Failure = "revoked: " + reason;
            return ValueTask.CompletedTask;
        }

        public async ValueTask DisposeAsync()
        {
            if (_subscription is not null)
            {
                await _subscription.DisposeAsync();
            }

            _transport.Dispose();
        }
    }
}
