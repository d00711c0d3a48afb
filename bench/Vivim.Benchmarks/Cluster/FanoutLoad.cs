using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Vivim.Anchors;
using Vivim.Clones;
using Vivim.Gateway.Sync;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;

namespace Vivim.Benchmarks.Cluster;

/// <summary>
/// Delivery latency from an owner's write to every attached clone session, with sessions attached through the
/// session hub the gateway uses. Usage: <c>dotnet run -c Release -- fanout [sessionsOnOneDid] [dids] [sessionsPerDid]</c>.
/// Prints p50/p99 next to the same-run baseline: the latency of the write itself (the commit round trip).
/// </summary>
internal static class FanoutLoad
{
    public static async Task RunAsync(string[] args)
    {
        int Arg(int i, int fallback) => args.Length > i ? int.Parse(args[i], System.Globalization.CultureInfo.InvariantCulture) : fallback;
        var oneDidSessions = Arg(1, 1000);
        var dids = Arg(2, 10_000);
        var perDid = Arg(3, 3);

        await using var cluster = await BenchCluster.StartAsync();
        await using var hub = new SessionHub(cluster.Client, Options.Create(new SessionHubOptions()), NullLogger<SessionHub>.Instance);

        var one = await Scenario.CreateAsync(cluster.Client, hub, didCount: 1, sessionsPerDid: oneDidSessions);
        var result = await one.MeasureAsync(writes: 300, writesPerSecond: 20);
        Report($"1 DID x {oneDidSessions} sessions", result);
        await one.DisposeAsync();

        var many = await Scenario.CreateAsync(cluster.Client, hub, didCount: dids, sessionsPerDid: perDid);
        result = await many.MeasureAsync(writes: Math.Min(dids, 2000), writesPerSecond: 200);
        Report($"{dids} DIDs x {perDid} sessions", result);
        await many.DisposeAsync();
    }

    private static void Report(string label, (List<double> Delivery, List<double> Commit, TimeSpan Setup) r)
    {
        static double P(List<double> xs, double q)
        {
            xs.Sort();
            return xs[(int)Math.Min(xs.Count - 1, Math.Floor(q * xs.Count))];
        }

        Console.WriteLine($"{label} (set up in {r.Setup.TotalSeconds:0.0} s): {r.Delivery.Count:N0} deliveries, p50 {P(r.Delivery, 0.5):0.0} ms, p99 {P(r.Delivery, 0.99):0.0} ms; " +
            $"baseline commit round trip p50 {P(r.Commit, 0.5):0.0} ms, p99 {P(r.Commit, 0.99):0.0} ms; delivery p99 / commit p99 = {P(r.Delivery, 0.99) / P(r.Commit, 0.99):0.0}x");
    }

    private sealed class Scenario : IAsyncDisposable
    {
        private readonly IClusterClient _client;
        private readonly List<(SigningKey Key, IAnchorStateGrain Anchor)> _parents = [];
        private readonly List<CloneSession> _sessions = [];
        private readonly List<Task> _readers = [];
        private readonly ConcurrentDictionary<string, long> _writtenAt = new(StringComparer.Ordinal);
        private readonly ConcurrentBag<double> _deliveries = [];
        private TimeSpan _setup;

        private Scenario(IClusterClient client) => _client = client;

        public static async Task<Scenario> CreateAsync(IClusterClient client, SessionHub hub, int didCount, int sessionsPerDid)
        {
            var scenario = new Scenario(client);
            var clock = Stopwatch.StartNew();
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            await Parallel.ForEachAsync(Enumerable.Range(0, didCount), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (d, _) =>
            {
                var key = SigningKey.Generate();
                var anchor = client.GetGrain<IAnchorStateGrain>(key.Did.Value);
                await anchor.InitializeAsync(new AnchorSetup(BenchCluster.Vault.Seal(key.ExportSeed(), key.Did.Value)));
                var sessions = new List<CloneSession>();
                for (var s = 0; s < sessionsPerDid; s++)
                {
                    var cloneId = $"bench-{d}-{s}-{Guid.NewGuid():N}";
                    using var cloneKey = SigningKey.Generate();
                    await client.GetGrain<ICloneGrain>(cloneId).InitializeAsync(new CloneRegistration(cloneId, cloneKey.Did.Value, key.Did.Value, TrustLevel.Secondary, ["read"], MigrationType.Mirror, now, 0));
                    sessions.Add(await hub.OpenAsync(cloneId));
                }

                lock (scenario)
                {
                    scenario._parents.Add((key, anchor));
                    foreach (var session in sessions)
                    {
                        scenario._sessions.Add(session);
                        scenario._readers.Add(Task.Run(() => scenario.ReadAsync(session)));
                    }
                }
            });
            scenario._setup = clock.Elapsed;
            return scenario;
        }

        private async Task ReadAsync(CloneSession session)
        {
            await foreach (var message in session.Outgoing.ReadAllAsync())
            {
                if (message is not SessionBatch batch)
                {
                    continue;
                }

                var now = Stopwatch.GetTimestamp();
                foreach (var update in batch.Updates)
                {
                    if (_writtenAt.TryGetValue(UpdateIdOf(update.Json), out var writtenAt))
                    {
                        _deliveries.Add(Stopwatch.GetElapsedTime(writtenAt, now).TotalMilliseconds);
                    }
                }

                await session.AcknowledgeAsync(batch.LastSeq);
            }
        }

        // A forward-only read of the one field a clone's observer needs, as gateway-fanout's raw sessions do.
        private static string UpdateIdOf(string json)
        {
            var reader = new System.Text.Json.Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(json));
            while (reader.Read())
            {
                if (reader.TokenType == System.Text.Json.JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("updateId"u8))
                {
                    reader.Read();
                    return reader.GetString() ?? string.Empty;
                }

                if (reader.TokenType is System.Text.Json.JsonTokenType.StartObject or System.Text.Json.JsonTokenType.StartArray && reader.CurrentDepth >= 1)
                {
                    reader.Skip();
                }
            }

            return string.Empty;
        }

        public async Task<(List<double>, List<double>, TimeSpan)> MeasureAsync(int writes, int writesPerSecond)
        {
            // Warm up: the first writes of a DID pay for activations, subscriptions and JIT; they are not measured.
            foreach (var (key, anchor) in _parents.Take(50))
            {
                for (var w = 0; w < 3; w++)
                {
                    await anchor.SubmitAsync([Update(key, -1 - w).Json]);
                }
            }

            await Task.Delay(500);

            var commits = new ConcurrentBag<double>();
            var interval = TimeSpan.FromSeconds(1.0 / writesPerSecond);
            var pending = new List<Task>();
            var random = new Random(7);
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < writes; i++)
            {
                var (key, anchor) = _parents[_parents.Count == 1 ? 0 : random.Next(_parents.Count)];
                var (updateId, update) = Update(key, i);
                var due = interval * i;
                if (clock.Elapsed < due)
                {
                    await Task.Delay(due - clock.Elapsed);
                }

                pending.Add(Task.Run(async () =>
                {
                    var started = Stopwatch.GetTimestamp();
                    _writtenAt[updateId] = started;
                    await anchor.SubmitAsync([update]);
                    commits.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }));
            }

            await Task.WhenAll(pending);
            var expected = (long)writes * (_sessions.Count / _parents.Count);
            var deadline = Stopwatch.StartNew();
            while (_deliveries.Count < expected && deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(50);
            }

            if (_deliveries.Count < expected)
            {
                Console.WriteLine($"warning: {expected - _deliveries.Count} of {expected} deliveries missing after 30 s");
            }

            return ([.. _deliveries], [.. commits], _setup);
        }

        private static (string UpdateId, string Json) Update(SigningKey key, int i)
        {
            var updateId = Guid.NewGuid().ToString();
            var json = ProtocolModel.ToJsonObject(new StateUpdate(
                updateId, UpdateType.Memory, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), key.Did.Value, string.Empty, UpdateOperation.Create,
                $"memoryIndex/fanout/{i}", RawJson.From(new JsonObject { ["i"] = i }), string.Empty, string.Empty));
            SignatureV1.SignInPlace(key, SignedKind.StateUpdate, json);
            SignatureV2.SignInPlace(key, SignedKind.StateUpdate, json);
            return (updateId, JavaScriptJson.Stringify(json));
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var session in _sessions)
            {
                await session.DisposeAsync();
            }

            await Task.WhenAll(_readers);
        }
    }
}
