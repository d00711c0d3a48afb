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
/// <c>dotnet run -c Release -- gateway-fanout [clones] [writes] [writesPerSecond] [raw|sdk]</c>.
/// Prints per-clone delivery latency (from just before the write's HTTP request is sent until a clone's socket has the
/// batch holding that update) next to the same run's baseline: the owner's commit round trip (the HTTP POST).
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
    private static readonly byte[] MeasuredPrefixUtf8 = Encoding.UTF8.GetBytes(MeasuredPrefix);

    public static async Task<int> RunAsync(string[] args)
    {
        int Arg(int i, int fallback) => args.Length > i ? int.Parse(args[i], CultureInfo.InvariantCulture) : fallback;
        var clones = Arg(1, 1000);
        var writes = Arg(2, 300);
        var writesPerSecond = Arg(3, 20);
        var sdk = args.Length > 4 && args[4] switch
        {
            "sdk" => true,
            "raw" => false,
            _ => throw new ArgumentException($"Sessions are 'raw' or 'sdk', not '{args[4]}'."),
        };

        // Registration and a thousand sessions from one loopback address: the buckets are raised out of the way.
        var settings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Vivim__RateLimits__PerAddressPerSecond"] = "1000000",
            ["Vivim__RateLimits__PerDidPerSecond"] = "1000000",
            ["Vivim__Tenants__MaxClonesPerExitNode"] = clones.ToString(CultureInfo.InvariantCulture),
            ["Vivim__Tenants__RequestsPerSecond"] = "1000000",
            ["Vivim__Tenants__UpdatesPerSecond"] = "1000000",
        };
        // Not a ratio here, but this machine's speed at the moment: shared hosts vary, and latency with them.
        Console.WriteLine($"Ed25519 verify bound (all {Environment.ProcessorCount} cores, before the gateway starts): {IngestLoad.MeasureVerifyBound(TimeSpan.FromSeconds(2)):N0}/s");
        return await GatewayProcess.RunAsync("gateway-fanout", settings, gateway => MeasureAsync(gateway, clones, writes, writesPerSecond, sdk));
    }

    private static async Task MeasureAsync(GatewayProcess gateway, int cloneCount, int writes, int writesPerSecond, bool sdk)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(1) };
        using var operatorClient = new OperatorClient(gateway.BaseAddress, gateway.OperatorKey, http);
        var (_, apiKey) = await operatorClient.CreateTenantAsync("gateway-fanout");
        using var tenant = new TenantClient(gateway.BaseAddress, apiKey, http);
        var (did, _) = await tenant.CreateExitNodeAsync(policy: new ExitNodePolicy(MaxClones: cloneCount, AllowMigration: true, RequireVerification: true));

        var clock = Stopwatch.StartNew();
        var registered = new (SigningKey Key, string CloneId, long Cursor)[cloneCount];
        using (var exitNodes = new ExitNodeClient(gateway.BaseAddress, http))
        {
            await Parallel.ForAsync(0, cloneCount, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, token) =>
            {
                var key = SigningKey.Generate();
                var result = await exitNodes.RegisterCloneAsync(did, key, cancellationToken: token);
                registered[i] = (key, result.CloneId, result.Response.InitialState!.Seq ?? 0);
            });
        }

        var registration = clock.Elapsed;
        clock.Restart();
        var recorder = new DeliveryRecorder(writes, cloneCount);
        var sessions = new IFanoutSession[cloneCount];
        try
        {
            await Parallel.ForAsync(0, cloneCount, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, token) =>
            {
                var (key, cloneId, cursor) = registered[i];
                sessions[i] = sdk
                    ? await SdkSession.OpenAsync(gateway.BaseAddress, key, cloneId, cursor, recorder, token)
                    : await RawSession.OpenAsync(gateway.BaseAddress, key, cloneId, cursor, recorder, token);
            });
            var opening = clock.Elapsed;

            // Warm up: the first writes pay for JIT in both processes and for the stream subscription.
            for (var w = 0; w < 60; w++)
            {
                await WriteAsync(tenant, did, $"warm-up-{w}", w);
                await Task.Delay(1000 / writesPerSecond);
            }

            await Task.Delay(1000);

            var cpu = new CpuShare(gateway);
            var commits = new double[writes];
            var head = 0L;
            await SteadyRate.RunAsync(writes, writesPerSecond, async index =>
            {
                var started = recorder.Written(index);
                var seq = await WriteAsync(tenant, did, MeasuredPrefix + index.ToString(CultureInfo.InvariantCulture), index);
                Seqs.RaiseTo(ref head, seq);
                commits[index] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            });
            var expected = (long)writes * cloneCount;
            var deadline = Stopwatch.StartNew();
            while (recorder.Count < expected && deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(50);
            }

            var cpuUse = cpu.Measure();
            if (recorder.Count < expected)
            {
                await ReportMissingAsync(gateway, tenant, did, sessions, expected - recorder.Count, writes, head);
            }

            var delivery = new Percentiles(recorder.Latencies);
            var commit = new Percentiles(commits);
            Console.WriteLine(
                $"1 DID x {cloneCount:N0} clones, {(sdk ? "SDK" : "raw")} WebSocket sessions (registered in {registration.TotalSeconds:0.0} s, sessions opened in {opening.TotalSeconds:0.0} s): " +
                $"{writes} writes at {writesPerSecond}/s, {delivery.Count:N0} deliveries, p50 {delivery.P50:0.0} ms, p99 {delivery.P99:0.0} ms, max {delivery.At(1):0.0} ms (target p99 <= 100 ms: {(delivery.P99 <= 100 ? "met" : "missed")}); " +
                $"baseline commit round trip (POST /v1/exit-nodes/{{did}}/updates) p50 {commit.P50:0.0} ms, p99 {commit.P99:0.0} ms; delivery p99 / commit p99 = {delivery.P99 / commit.P99:0.0}x; {cpuUse}");
        }
        finally
        {
            await Task.WhenAll(sessions.Where(s => s is not null).Select(s => s.DisposeAsync().AsTask()));
        }
    }

    /// <summary>Which clones are behind, and what the gateway says about the first of them (connected, its cursor).</summary>
    private static async Task ReportMissingAsync(GatewayProcess gateway, TenantClient tenant, string did, IFanoutSession[] sessions, long missing, int writes, long head)
    {
        var behind = sessions.Where(s => s.Measured < writes).ToList();
        var failed = sessions.Where(s => s.Failure is not null).ToList();
        var example = string.Empty;
        if (behind.Count > 0)
        {
            var listed = (await tenant.ListClonesAsync(did)).FirstOrDefault(c => c.CloneId == behind[0].CloneId);
            example = $" (e.g. {behind[0].CloneId}: {behind[0].Measured} of {writes} received, last seq {behind[0].LastSeq} of {head}; " +
                $"the gateway lists it as connected: {listed?.Connected}, acknowledged cursor {listed?.Cursor})";
        }

        Console.WriteLine($"warning: {missing:N0} deliveries missing after 30 s, in {behind.Count} sessions{example}; " +
            $"{failed.Count} sessions failed{(failed.Count > 0 ? ", e.g. " + failed[0].Failure : string.Empty)}; gateway log kept: {gateway.LogPath}");
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
    /// When each measured write was sent (indexed by the number in its updateId), and every clone's delivery latency
    /// of it. Warm-up writes have other ids and are not kept.
    /// </summary>
    private sealed class DeliveryRecorder(int writes, int clones)
    {
        private readonly long[] _writtenAt = new long[writes];
        private readonly double[] _latencies = new double[(long)writes * clones];
        private int _count;

        public long Count => Volatile.Read(ref _count);

        public IEnumerable<double> Latencies => _latencies.Take((int)Math.Min(Count, _latencies.Length));

        /// <summary>Called just before write <paramref name="index"/> is sent; returns that instant.</summary>
        public long Written(int index)
        {
            var now = Stopwatch.GetTimestamp();
            Volatile.Write(ref _writtenAt[index], now);
            return now;
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

            var slot = Interlocked.Increment(ref _count) - 1;
            if (slot < _latencies.Length)
            {
                _latencies[slot] = Stopwatch.GetElapsedTime(writtenAt, receivedAt).TotalMilliseconds;
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
