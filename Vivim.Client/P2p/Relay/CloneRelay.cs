using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Vivim.Client.Http;
using Vivim.Client.Sync;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Protocol;
using Vivim.Protocol.Discovery;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Client.P2p.Relay;

/// <summary>
/// A relay clone re-serving its verified replica on libp2p to the other clones of its parent (DESIGN §7):
/// <list type="bullet">
/// <item><c>/vivim/sync/1.0.0</c> from its <see cref="RelayLog"/>: snapshot, updates (only up to what its own replica
/// verified), status and ack; read only, a submission is refused (writes go to the parent). Each request carries the
/// peer's TrustProof (<see cref="RelayAdmission"/>).</item>
/// <item><c>/vivim/exit-node/1.0.0</c> and <c>/vivim/clone/1.0.0</c> passed on to the parent's gateway as they are, so a
/// clone that reaches only the relay can register (all of it is signed by the exit node and checked by the clone).</item>
/// <item>each commit its replica applied, re-published on <c>/vivim/sync/&lt;did&gt;</c>, and the relay announced on the
/// DHT under <c>/vivim/relay/&lt;did&gt;</c>.</item>
/// </list>
/// Everything served is anchor-signed, so a relay can withhold data but not alter it undetected.
/// </summary>
public sealed class CloneRelay : IAsyncDisposable
{
    private readonly P2pClone _clone;
    private readonly RelayLog _log;
    private readonly CloneRelayOptions _options;
    private readonly RelayAdmission _admission;
    private readonly ConcurrentDictionary<string, (long Seq, long At)> _acknowledged = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _publishing = new();
    private long _published;

    private CloneRelay(P2pClone clone, RelayLog log, CloneRelayOptions options)
    {
        _clone = clone;
        _log = log;
        _options = options;
        _admission = new RelayAdmission(clone.Registration.ParentDid, clone.Transport.GetPeerTrustAsync, options.PeerTrustTtl, options.TimeProvider);
        _published = clone.Sync.Replica.Cursor;
    }

    public string ParentDid => _clone.Registration.ParentDid;

    /// <summary>Serves <paramref name="clone"/> (registered as a relay, listening) and announces it on the DHT.</summary>
    /// <exception cref="InvalidOperationException">The clone is not a relay or does not listen.</exception>
    public static async Task<CloneRelay> StartAsync(P2pClone clone, CloneRelayOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clone);
        var log = clone.RelayLog ?? throw new InvalidOperationException($"Clone {clone.CloneId} did not register as a relay (migrationType relay).");
        if (clone.Node.Host.ListenAddresses.Count == 0)
        {
            throw new InvalidOperationException("A relay must listen: open the clone with listen addresses.");
        }

        if (log.Snapshot is null)
        {
            // Reopened from disk: a signed snapshot to hand to peers that start from nothing.
            log.RecordSnapshot(await clone.Transport.GetSnapshotAsync(cancellationToken).ConfigureAwait(false));
        }

        var relay = new CloneRelay(clone, log, options ?? new CloneRelayOptions());
        var host = clone.Node.Host;
        host.SetStreamHandler(P2pSyncTransport.SyncProtocolId, relay.ServeSyncAsync);
        host.SetStreamHandler(P2pExitNode.ExitNodeProtocolId, relay.PassOnAsync);
        host.SetStreamHandler(P2pExitNode.CloneProtocolId, relay.PassOnAsync);
        clone.Sync.EventRaised += relay.OnSyncEvent;
        await relay.AnnounceAsync(cancellationToken).ConfigureAwait(false);
        return relay;
    }

    /// <summary>Provides <c>/vivim/relay/&lt;did&gt;</c>; returns how many DHT peers took the record.</summary>
    public Task<int> AnnounceAsync(CancellationToken cancellationToken = default) =>
        _clone.Node.Dht.ProvideAsync(DiscoveryKeys.Relay(ParentDid), cancellationToken);

    /// <summary>
    /// After anything the relay's sync did, the commits its replica has now passed are announced, in order: only once
    /// the cursor is past a commit can a peer that pulls on the notice get it here.
    /// </summary>
    private void OnSyncEvent(object? sender, SyncEventArgs e)
    {
        IReadOnlyList<Commit> commits;
        lock (_publishing)
        {
            var cursor = _clone.Sync.Replica.Cursor;
            if (cursor <= _published)
            {
                return;
            }

            commits = _log.CommitsEndingIn(_published, cursor);
            _published = cursor;
        }

        foreach (var commit in commits)
        {
            _ = PublishAsync(Encoding.UTF8.GetBytes(ProtocolModel.ToJson(commit)));
        }
    }

    private async Task PublishAsync(byte[] data)
    {
        try
        {
            await _clone.Node.Pubsub.PublishAsync(_clone.Transport.Topic, data, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is Libp2pException or IOException or OperationCanceledException or InvalidOperationException)
        {
            // No peer on the topic yet, or stopping: the next commit, or a peer's pull, makes up for it.
        }
    }

    private Task ServeSyncAsync(Libp2pStream stream, CancellationToken cancellationToken) => ServeAsync(stream, async (request, token) =>
    {
        try
        {
            var json = ProtocolJson.ParseObject(request, new JsonLimits(VivimStreamClient.MaxRequestBytes, JsonLimits.Default.MaxDepth));
            var peerDid = await _admission.AdmitAsync(stream.RemotePeer, json["trustProof"], token).ConfigureAwait(false);
            return Encoding.UTF8.GetBytes(JavaScriptJson.Stringify(Answer(json, peerDid)));
        }
        catch (GatewayException e)
        {
            return ErrorAnswer(e.Code, e.Message);
        }
        catch (ProtocolException e)
        {
            return ErrorAnswer("invalid-request", e.Message);
        }
    }, cancellationToken);

    private JsonObject Answer(JsonObject request, string peerDid)
    {
        var type = request["type"] is JsonValue t && t.TryGetValue<string>(out var text) ? text : string.Empty;
        var head = _clone.Sync.Replica.Cursor;
        switch (type)
        {
            case "snapshot":
                return _log.Snapshot is { } snapshot
                    ? ProtocolModel.ToJsonObject(snapshot)
                    : throw new GatewayException(HttpStatusCode.NotFound, "not-found", "This relay holds no snapshot yet.");
            case "updates":
                var after = Number(request, "after") ?? 0;
                var limit = (int)Math.Clamp(Number(request, "limit") ?? 100, 1, _options.MaxPageSize);
                var page = _log.Page(after, limit, head);
                return page.ResyncRequired
                    ? throw new GatewayException(HttpStatusCode.Gone, "resync-required", $"This relay no longer holds seq {after + 1}: take the snapshot.")
                    : PageJson(page);
            case "ack":
                var seq = Math.Min(Number(request, "seq") ?? 0, head);
                var at = _options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
                _acknowledged.AddOrUpdate(peerDid, (seq, at), (_, old) => (Math.Max(old.Seq, seq), at));
                return [];
            case "status":
                // As the gateway answers it, for what this relay knows: the peer's acknowledged cursor here and the
                // anchor's root at it (when a commit the relay holds ends there).
                var (cursor, lastSyncAt) = _acknowledged.GetValueOrDefault(peerDid);
                return new JsonObject
                {
                    ["connected"] = true,
                    ["parentDid"] = ParentDid,
                    ["lastSyncAt"] = lastSyncAt,
                    ["pendingUpdates"] = Math.Max(0, head - cursor),
                    ["stateHash"] = _log.CommitsEndingIn(cursor - 1, cursor) is [var commit] ? commit.Root : string.Empty,
                    ["cursor"] = cursor,
                    ["headSeq"] = head,
                };
            case "submit":
                throw new GatewayException(HttpStatusCode.Forbidden, "forbidden", "A relay is read only: submit writes to the parent.");
            default:
                throw new GatewayException(HttpStatusCode.BadRequest, "invalid-request", $"Unknown request type '{type}' (snapshot, updates, status, ack).");
        }
    }

    /// <summary>A page as the gateway answers one: <c>{updates, commits, headSeq}</c>, each record as its author signed it.</summary>
    public static JsonObject PageJson(UpdatePage page)
    {
        ArgumentNullException.ThrowIfNull(page);
        return new JsonObject
        {
            ["updates"] = new JsonArray([.. page.Updates.Select(u => (JsonNode)ProtocolModel.ToJsonObject(u))]),
            ["commits"] = new JsonArray([.. page.Commits.Select(c => (JsonNode)ProtocolModel.ToJsonObject(c))]),
            ["headSeq"] = page.HeadSeq,
        };
    }

    /// <summary>Registration and advertisements go to the parent's gateway byte for byte; the clone checks every signature itself.</summary>
    private Task PassOnAsync(Libp2pStream stream, CancellationToken cancellationToken) => ServeAsync(stream, async (request, token) =>
    {
        try
        {
            var json = await VivimStreamClient.ExchangeAsync(_clone.Node.Host, _clone.Transport.Gateway, stream.Protocol, request, token).ConfigureAwait(false);
            return Encoding.UTF8.GetBytes(JavaScriptJson.Stringify(json));
        }
        catch (Exception e) when (e is GatewayException or IOException or ProtocolException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return ErrorAnswer("unavailable", $"The relay could not reach its parent: {e.Message}");
        }
    }, cancellationToken);

    /// <summary>One request, one answer, within <see cref="CloneRelayOptions.RequestTimeout"/>; broken framing resets the stream.</summary>
    private async Task ServeAsync(Libp2pStream stream, Func<byte[], CancellationToken, Task<byte[]>> answer, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        deadline.CancelAfter(_options.RequestTimeout);
        if (await ReadRequestAsync(stream, deadline.Token).ConfigureAwait(false) is { } request)
        {
            await WriteAnswerAsync(stream, await answer(request, deadline.Token).ConfigureAwait(false), deadline.Token).ConfigureAwait(false);
        }
    }

    private static async Task<byte[]?> ReadRequestAsync(Libp2pStream stream, CancellationToken cancellationToken)
    {
        try
        {
            var request = await Varint.ReadLengthPrefixedAsync(stream, VivimStreamClient.MaxRequestBytes, cancellationToken).ConfigureAwait(false);
            if (request is null)
            {
                stream.Reset();
            }

            return request;
        }
        catch (Exception e) when (e is Libp2pException or IOException or OperationCanceledException)
        {
            stream.Reset(); // broken framing, or silence past the timeout
            return null;
        }
    }

    private static async Task WriteAnswerAsync(Libp2pStream stream, byte[] answer, CancellationToken cancellationToken)
    {
        try
        {
            await Varint.WriteLengthPrefixedAsync(stream, answer, cancellationToken).ConfigureAwait(false);
            await stream.CloseWriteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is Libp2pException or IOException or OperationCanceledException)
        {
            stream.Reset();
        }
    }

    /// <summary>A whole number member (protocol JSON parses numbers as JavaScript does, as doubles); null when absent.</summary>
    private static long? Number(JsonObject request, string member) => request[member] switch
    {
        null => null,
        JsonValue value when value.TryGetValue<long>(out var whole) => whole,
        JsonValue value when value.TryGetValue<double>(out var number) && number == Math.Floor(number) && Math.Abs(number) < (1L << 53) => (long)number,
        _ => throw new GatewayException(HttpStatusCode.BadRequest, "invalid-request", $"{member} is a whole number."),
    };

    private static byte[] ErrorAnswer(string code, string message) =>
        Encoding.UTF8.GetBytes(JavaScriptJson.Stringify(new JsonObject { ["error"] = new JsonObject { ["code"] = code, ["message"] = message } }));

    public async ValueTask DisposeAsync()
    {
        _clone.Sync.EventRaised -= OnSyncEvent;
        var host = _clone.Node.Host;
        host.RemoveStreamHandler(P2pSyncTransport.SyncProtocolId);
        host.RemoveStreamHandler(P2pExitNode.ExitNodeProtocolId);
        host.RemoveStreamHandler(P2pExitNode.CloneProtocolId);
        _clone.Node.Dht.StopProviding(DiscoveryKeys.Relay(ParentDid));
        await _stop.CancelAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
