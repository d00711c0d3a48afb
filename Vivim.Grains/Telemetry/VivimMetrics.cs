using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Vivim.Telemetry;

/// <summary>
/// Every instrument of the <c>Vivim</c> meter, in one place (docs/operations.md lists them with their Prometheus names).
/// Tags are bounded: an outcome, a rejection code, an SDK denial reason, a backend, a transport, a protocol id; never a
/// DID, a clone id, a tenant id or anything else a caller chooses. Recording costs nothing while nobody listens.
/// </summary>
public static class VivimMetrics
{
    public const string MeterName = "Vivim";

    public static readonly Meter Meter = new(MeterName, typeof(VivimMetrics).Assembly.GetName().Version?.ToString());

    // Seconds: commits and appends take 1–100 ms, deliveries up to seconds.
    private static readonly double[] SecondsBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
    private static readonly long[] BatchBuckets = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
    private static readonly long[] LagBuckets = [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10000, 100000];

    // The write path (AnchorStateGrain).
    private static readonly Counter<long> UpdatesCommitted = Meter.CreateCounter<long>("vivim.updates.committed", "{update}", "Updates committed (appended to the log and acknowledged).");
    private static readonly Counter<long> UpdatesRejected = Meter.CreateCounter<long>("vivim.updates.rejected", "{update}", "Updates refused by the anchor, by rejection code.");
    private static readonly Counter<long> Commits = Meter.CreateCounter<long>("vivim.commits", "{commit}", "Commits (batches) signed and appended.");
    private static readonly Histogram<double> CommitDuration = Meter.CreateHistogram("vivim.commit.duration", "s", "From a batch reaching the anchor to its acknowledgement (checks, ordering, signing, append).", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
    private static readonly Histogram<long> BatchSize = Meter.CreateHistogram("vivim.commit.batch_size", "{update}", "Updates per committed batch.", advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = BatchBuckets });

    // The update log (InstrumentedUpdateLog), per backend.
    private static readonly Histogram<double> LogAppendDuration = Meter.CreateHistogram("vivim.log.append.duration", "s", "One atomic append to the update log, by backend.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
    private static readonly Counter<long> LogErrors = Meter.CreateCounter<long>("vivim.log.errors", "{error}", "Update-log operations that failed (storage errors; append races excluded), by backend and operation.");

    // Delivery to connected clones (the gateway's session hub and sync socket).
    private static readonly UpDownCounter<long> Sessions = Meter.CreateUpDownCounter<long>("vivim.sync.sessions", "{session}", "Live sync sessions open on this gateway.");
    private static readonly UpDownCounter<long> ConnectedClones = Meter.CreateUpDownCounter<long>("vivim.sync.connected_clones", "{clone}", "Clones with at least one live session on this gateway.");
    private static readonly Counter<long> Deliveries = Meter.CreateCounter<long>("vivim.sync.deliveries", "{batch}", "Batches sent to clones, live or from the backlog.");
    private static readonly Histogram<double> DeliveryLatency = Meter.CreateHistogram("vivim.sync.delivery.latency", "s", "From a commit's timestamp to its live batch leaving for a clone.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
    private static readonly Histogram<long> CloneLag = Meter.CreateHistogram("vivim.sync.clone_lag", "{update}", "Head minus the clone's cursor, at each acknowledgement.", advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = LagBuckets });
    private static readonly Counter<long> Resyncs = Meter.CreateCounter<long>("vivim.sync.resyncs", "{resync}", "Sessions told to take a new snapshot, by reason.");

    // Registration (ExitNodeGrain) and the gateway's budgets.
    private static readonly Counter<long> Registrations = Meter.CreateCounter<long>("vivim.registrations", "{registration}", "Clone registrations concluded, approved or denied (by the SDK's reason).");
    private static readonly Counter<long> Refusals = Meter.CreateCounter<long>("vivim.limits.refusals", "{request}", "Requests refused by a rate limit or a quota, by kind and budget.");

    // libp2p (the gateway's peer).
    private static readonly Counter<long> P2pStreams = Meter.CreateCounter<long>("vivim.p2p.streams", "{stream}", "Inbound /vivim/* streams handled, by protocol.");
    private static readonly Counter<long> GossipMessages = Meter.CreateCounter<long>("vivim.p2p.gossip.messages", "{message}", "GossipSub commit messages, by direction (in, out) and result.");
    private static readonly Counter<long> DhtProvides = Meter.CreateCounter<long>("vivim.p2p.dht.provides", "{provide}", "DHT provider records this gateway announced, by result.");
    private static readonly ConcurrentDictionary<object, Func<(long Peers, long Lookups)>> PeerSources = new();

    // Process totals for the management port's /status (vivim status), beside the instruments.
    private static long s_updatesCommitted;
    private static long s_commits;
    private static long s_sessions;
    private static long s_connectedClones;

    /// <summary>What this process committed and serves now, since it started.</summary>
    public static ProcessTotals Totals => new(
        Interlocked.Read(ref s_commits), Interlocked.Read(ref s_updatesCommitted), Interlocked.Read(ref s_sessions), Interlocked.Read(ref s_connectedClones));

    static VivimMetrics()
    {
        Meter.CreateObservableGauge("vivim.p2p.peers", () => (long)PeerSources.Values.Sum(s => s().Peers), "{peer}", "Connected libp2p peers.");
        Meter.CreateObservableCounter("vivim.p2p.dht.lookups", () => PeerSources.Values.Sum(s => s().Lookups), "{lookup}", "DHT provider lookups (GET_PROVIDERS) this gateway answered.");
    }

    public static void Committed(int updates, TimeSpan elapsed)
    {
        Interlocked.Add(ref s_updatesCommitted, updates);
        Interlocked.Increment(ref s_commits);
        UpdatesCommitted.Add(updates);
        Commits.Add(1);
        BatchSize.Record(updates);
        CommitDuration.Record(elapsed.TotalSeconds);
    }

    /// <param name="code">A rejection code (<c>RejectionCodes</c>), a bounded set.</param>
    public static void Rejected(string code, int updates = 1) => UpdatesRejected.Add(updates, new KeyValuePair<string, object?>("code", code));

    /// <param name="backend">A short name of the log's implementation (<c>sqlite</c>, <c>postgresql</c>, …).</param>
    public static void LogAppended(string backend, TimeSpan elapsed) => LogAppendDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("backend", backend));

    public static void LogFailed(string backend, string operation) =>
        LogErrors.Add(1, new KeyValuePair<string, object?>("backend", backend), new KeyValuePair<string, object?>("operation", operation));

    public static void SessionOpened(bool firstOfClone)
    {
        Interlocked.Increment(ref s_sessions);
        Sessions.Add(1);
        if (firstOfClone)
        {
            Interlocked.Increment(ref s_connectedClones);
            ConnectedClones.Add(1);
        }
    }

    public static void SessionClosed(bool lastOfClone)
    {
        Interlocked.Decrement(ref s_sessions);
        Sessions.Add(-1);
        if (lastOfClone)
        {
            Interlocked.Decrement(ref s_connectedClones);
            ConnectedClones.Add(-1);
        }
    }

    /// <param name="committedAtMs">The newest commit's timestamp when the batch is live; null for a backlog batch.</param>
    public static void Delivered(long? committedAtMs)
    {
        Deliveries.Add(1, new KeyValuePair<string, object?>("kind", committedAtMs is null ? "backlog" : "live"));
        if (committedAtMs is { } at)
        {
            DeliveryLatency.Record(Math.Max(0, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - at) / 1000.0);
        }
    }

    public static void Acknowledged(long head, long cursor) => CloneLag.Record(Math.Max(0, head - cursor));

    /// <param name="reason">The resync's reason code (a bounded set).</param>
    public static void Resynced(string reason) => Resyncs.Add(1, new KeyValuePair<string, object?>("reason", reason));

    /// <param name="deniedReason">The SDK's denial reason (<c>DenialReasons</c>), or null when approved.</param>
    public static void Registration(string? deniedReason) => Registrations.Add(1,
        new KeyValuePair<string, object?>("outcome", deniedReason is null ? "approved" : "denied"),
        new KeyValuePair<string, object?>("reason", deniedReason ?? string.Empty));

    /// <param name="kind"><c>rate-limit</c> or <c>quota</c>.</param>
    /// <param name="budget">Which budget: <c>address</c>, <c>did</c>, <c>tenant</c>, <c>updates</c>, <c>state-bytes</c>, …</param>
    public static void Refused(string kind, string budget) => Refusals.Add(1,
        new KeyValuePair<string, object?>("kind", kind), new KeyValuePair<string, object?>("budget", budget));

    /// <param name="protocol">The /vivim/* protocol id the stream negotiated (a fixed set).</param>
    public static void P2pStream(string protocol) => P2pStreams.Add(1, new KeyValuePair<string, object?>("protocol", protocol));

    /// <param name="direction"><c>in</c> or <c>out</c>.</param>
    /// <param name="result"><c>accepted</c>, <c>rejected</c>, <c>ignored</c> (in) or <c>published</c> (out).</param>
    public static void Gossip(string direction, string result) => GossipMessages.Add(1,
        new KeyValuePair<string, object?>("direction", direction), new KeyValuePair<string, object?>("result", result));

    public static void DhtProvided(bool reachedPeers) => DhtProvides.Add(1, new KeyValuePair<string, object?>("result", reachedPeers ? "stored" : "no-peers"));

    // Series that exist from the start at zero, so that rate() and the alert rules see them before the first event.
    public static void DeclareLogBackend(string backend)
    {
        LogErrors.Add(0, new KeyValuePair<string, object?>("backend", backend), new KeyValuePair<string, object?>("operation", "append"));
        UpdatesRejected.Add(0, new KeyValuePair<string, object?>("code", "none"));
        Refusals.Add(0, new KeyValuePair<string, object?>("kind", "rate-limit"), new KeyValuePair<string, object?>("budget", "none"));
    }

    public static void DeclareP2pProtocol(string protocol) => P2pStreams.Add(0, new KeyValuePair<string, object?>("protocol", protocol));

    public static void DeclareGossip()
    {
        foreach (var (direction, result) in new[] { ("in", "accepted"), ("in", "rejected"), ("in", "ignored"), ("out", "published") })
        {
            GossipMessages.Add(0, new KeyValuePair<string, object?>("direction", direction), new KeyValuePair<string, object?>("result", result));
        }

        DhtProvides.Add(0, new KeyValuePair<string, object?>("result", "stored"));
    }

    /// <summary>A libp2p peer's counts, read at each collection until <paramref name="owner"/> is forgotten.</summary>
    public static void ObservePeer(object owner, Func<(long Peers, long Lookups)> read) => PeerSources[owner] = read;

    public static void ForgetPeer(object owner) => PeerSources.TryRemove(owner, out _);
}

/// <summary>Counts of this process since it started (<see cref="VivimMetrics.Totals"/>).</summary>
public sealed record ProcessTotals(long Commits, long UpdatesCommitted, long Sessions, long ConnectedClones);
