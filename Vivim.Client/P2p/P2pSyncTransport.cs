using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Vivim.Client.Http;
using Vivim.Client.Transports;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Libp2p.Protocols.Pubsub;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Protocol.Sync;

namespace Vivim.Client.P2p;

/// <summary>
/// A clone's calls over libp2p: <c>/vivim/sync/1.0.0</c> to its gateway peer (the clone's libp2p identity is its DID
/// key, which is how the gateway knows it), and live sync from the DID's GossipSub topic <c>/vivim/sync/&lt;did&gt;</c>:
/// each notice whose anchor proof verifies is reported as the parent's head, and <see cref="Sync.SyncProtocol"/> pulls
/// and verifies what it names. The host and its GossipSub belong to the caller.
/// <para>
/// When the gateway peer cannot be reached, the transport asks <c>findGateway</c> for the DID's owner now (another
/// gateway takes a DID over when its owner leaves the cluster) and sends the request there; a read is also sent again
/// after its stream broke, a submission only when nothing of it was sent.
/// </para>
/// </summary>
public sealed class P2pSyncTransport : ISyncTransport
{
    public const string SyncProtocolId = "/vivim/sync/1.0.0";

    private readonly Libp2pHost _host;
    private readonly GossipSub? _pubsub;
    private readonly DidKey _parentKey;
    private readonly Func<CancellationToken, Task<Multiaddr>>? _findGateway;
    private readonly SemaphoreSlim _finding = new(1, 1);
    private Multiaddr _gateway;

    /// <param name="gateway">The gateway peer's address with its <c>/p2p/</c> suffix.</param>
    /// <param name="pubsub">GossipSub on <paramref name="host"/>, for live sync; null for pulls only.</param>
    /// <param name="findGateway">Looks the DID's gateway up again (<see cref="P2pDiscovery"/>); null to stay with <paramref name="gateway"/>.</param>
    public P2pSyncTransport(Libp2pHost host, Multiaddr gateway, string cloneId, string parentDid, GossipSub? pubsub = null, Func<CancellationToken, Task<Multiaddr>>? findGateway = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(gateway);
        ArgumentException.ThrowIfNullOrEmpty(cloneId);
        _host = host;
        _pubsub = pubsub;
        _parentKey = DidKey.Parse(parentDid);
        _findGateway = findGateway;
        _gateway = gateway;
        CloneId = cloneId;
        ParentDid = parentDid;
    }

    /// <summary>The gateway peer requests go to.</summary>
    public Multiaddr Gateway => Volatile.Read(ref _gateway);

    /// <summary>
    /// The clone's TrustProof, sent with every request when the peer is a relay clone (which admits only clones its parent
    /// vouched for); null towards a gateway, which knows the clone by its key.
    /// </summary>
    public TrustProof? Presenting { get; init; }

    /// <summary>Raised with the new gateway peer after the old one was unreachable and the DID was looked up again.</summary>
    public event EventHandler<Multiaddr>? GatewayChanged;

    public string CloneId { get; }

    public string ParentDid { get; }

    /// <summary>The topic this clone's notices come on.</summary>
    public string Topic => "/vivim/sync/" + ParentDid;

    public async Task<StateSnapshot> GetSnapshotAsync(CancellationToken cancellationToken) =>
        ProtocolModel.FromJsonObject<StateSnapshot>(await RequestAsync("snapshot", null, cancellationToken).ConfigureAwait(false));

    public async Task<UpdatePage> GetUpdatesAsync(long afterSeq, int limit, CancellationToken cancellationToken)
    {
        JsonObject page;
        try
        {
            page = await RequestAsync("updates", new JsonObject { ["after"] = afterSeq, ["limit"] = limit }, cancellationToken).ConfigureAwait(false);
        }
        catch (GatewayException e) when (e.Code == "resync-required")
        {
            return new UpdatePage([], [], 0, ResyncRequired: true);
        }

        return new UpdatePage(
            GatewayHttp.List<StateUpdate>(page, "updates", HttpStatusCode.OK),
            GatewayHttp.List<Commit>(page, "commits", HttpStatusCode.OK),
            GatewayHttp.Integer(page, "headSeq", HttpStatusCode.OK));
    }

    public async Task<long> GetHeadSeqAsync(CancellationToken cancellationToken) =>
        (await GetStatusAsync(cancellationToken).ConfigureAwait(false)).HeadSeq;

    /// <summary>The clone's status as its parent sees it, the same answer as over HTTP.</summary>
    public async Task<RemoteCloneStatus> GetStatusAsync(CancellationToken cancellationToken = default) =>
        RemoteCloneStatus.FromJson(await RequestAsync("status", null, cancellationToken).ConfigureAwait(false), HttpStatusCode.OK);

    /// <summary>A relay asks its parent about a peer that wants its data; null when that DID is no clone of the parent.</summary>
    public async Task<Relay.RelayPeer?> GetPeerTrustAsync(string peerDid, CancellationToken cancellationToken = default)
    {
        JsonObject answer;
        try
        {
            answer = await RequestAsync("peer", new JsonObject { ["did"] = peerDid }, cancellationToken).ConfigureAwait(false);
        }
        catch (GatewayException e) when (e.Code == "not-found")
        {
            return null;
        }

        try
        {
            return new Relay.RelayPeer(
                GatewayHttp.Text(answer, "cloneId") ?? string.Empty,
                answer["trustLevel"].Deserialize<TrustLevel>(ProtocolModel.Options),
                answer["permissions"] is JsonArray permissions ? [.. permissions.Select(p => p is JsonValue v && v.TryGetValue<string>(out var text) ? text : string.Empty)] : []);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new GatewayException(HttpStatusCode.BadGateway, "invalid-response", $"The parent's answer about {peerDid} is malformed: {e.Message}", e);
        }
    }

    public async Task AcknowledgeAsync(long seq, string stateHash, CancellationToken cancellationToken) =>
        await RequestAsync("ack", new JsonObject { ["seq"] = seq }, cancellationToken).ConfigureAwait(false);

    public async Task<SubmitResult> SubmitAsync(IReadOnlyList<string> updatesJson, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(updatesJson);

        // The updates go out as the exact text their author signed, not re-serialized.
        var request = new StringBuilder("{\"type\":\"submit\",\"cloneId\":");
        request.Append(Protocol.Json.JavaScriptJson.Stringify(JsonValue.Create(CloneId)));
        if (Presenting is not null)
        {
            request.Append(",\"trustProof\":").Append(Protocol.Json.JavaScriptJson.Stringify(ProtocolModel.ToJsonObject(Presenting)));
        }

        request.Append(",\"updates\":[").AppendJoin(',', updatesJson).Append("]}");
        var answer = await ExchangeAsync(Encoding.UTF8.GetBytes(request.ToString()), idempotent: false, cancellationToken).ConfigureAwait(false);
        if (answer["error"] is not JsonObject error)
        {
            return new SubmitResult(SubmitOutcome.Committed, GatewayHttp.List<UpdateReceipt>(answer, "receipts", HttpStatusCode.OK), []);
        }

        var failure = VivimStreamClient.ErrorOf(error);
        if (answer["rejections"] is JsonArray)
        {
            var outcome = failure.Code switch
            {
                "write-forbidden" => SubmitOutcome.Forbidden,
                "quota-exceeded" => SubmitOutcome.QuotaExceeded,
                "conflict" => SubmitOutcome.Conflict,
                _ => SubmitOutcome.Rejected,
            };
            return new SubmitResult(outcome, [], GatewayHttp.List<UpdateRejection>(answer, "rejections", failure.Status));
        }

        throw Revoked(failure);
    }

    public Task<ILiveSubscription> SubscribeAsync(ILiveSyncObserver observer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(observer);
        if (_pubsub is null)
        {
            throw new InvalidOperationException("Live sync over libp2p needs GossipSub on the clone's host.");
        }

        return Task.FromResult<ILiveSubscription>(new NoticeSubscription(this, _pubsub, observer));
    }

    /// <summary>A notice's commit if its anchor proof verifies by the parent's key and it is for this DID; else null.</summary>
    internal Commit? VerifiedNotice(GossipMessage message)
    {
        if (!string.Equals(message.Topic, Topic, StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            var json = Protocol.Json.ProtocolJson.ParseObject(message.Data, Protocol.Json.JsonLimits.Default);
            var commit = ProtocolModel.FromJsonObject<Commit>(json);
            return string.Equals(commit.Did, ParentDid, StringComparison.Ordinal) && SignatureV2.Verify(SignedKind.Commit, json, _parentKey.PublicKey)
                ? commit
                : null;
        }
        catch (Protocol.ProtocolException)
        {
            return null;
        }
    }

    private async Task<JsonObject> RequestAsync(string type, JsonObject? body, CancellationToken cancellationToken)
    {
        var request = body ?? [];
        request["type"] = type;
        request["cloneId"] = CloneId;
        if (Presenting is not null)
        {
            request["trustProof"] = ProtocolModel.ToJsonObject(Presenting);
        }

        var answer = await ExchangeAsync(Encoding.UTF8.GetBytes(Protocol.Json.JavaScriptJson.Stringify(request)), idempotent: true, cancellationToken).ConfigureAwait(false);
        return answer["error"] is JsonObject error ? throw Revoked(VivimStreamClient.ErrorOf(error)) : answer;
    }

    private async Task<JsonObject> ExchangeAsync(byte[] request, bool idempotent, CancellationToken cancellationToken)
    {
        var gateway = Gateway;
        try
        {
            return await VivimStreamClient.ExchangeAsync(_host, gateway, SyncProtocolId, request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (_findGateway is not null && (e is GatewayUnreachableException || (idempotent && e is GatewayException { Code: "stream-reset" })))
        {
            gateway = await FindGatewayAsync(gateway, cancellationToken).ConfigureAwait(false);
            return await VivimStreamClient.ExchangeAsync(_host, gateway, SyncProtocolId, request, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The DID's gateway now; concurrent callers that found <paramref name="failed"/> unreachable share one lookup.</summary>
    private async Task<Multiaddr> FindGatewayAsync(Multiaddr failed, CancellationToken cancellationToken)
    {
        await _finding.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!Equals(Gateway, failed))
            {
                return Gateway;
            }

            var found = await _findGateway!(cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _gateway, found);
            if (!Equals(found, failed))
            {
                GatewayChanged?.Invoke(this, found);
            }

            return found;
        }
        finally
        {
            _finding.Release();
        }
    }

    /// <summary>A refusal of this clone (suspended, removed) is the session's end, as on HTTP's 403.</summary>
    private static Exception Revoked(GatewayException e) =>
        e.Code == "clone-revoked" ? new CloneRevokedException($"The parent refused this clone: {e.Message}", e) : e;

    /// <summary>Live sync from the DID's topic: every verified notice is a head report; the observer pulls what it lacks.</summary>
    private sealed class NoticeSubscription : ILiveSubscription
    {
        private readonly P2pSyncTransport _transport;
        private readonly GossipSub _pubsub;
        private readonly ILiveSyncObserver _observer;

        public NoticeSubscription(P2pSyncTransport transport, GossipSub pubsub, ILiveSyncObserver observer)
        {
            _transport = transport;
            _pubsub = pubsub;
            _observer = observer;
            _pubsub.MessageReceived += OnMessage;
            _pubsub.Subscribe(transport.Topic);
        }

        /// <summary>Notices carry no updates: nothing is pushed that could be in flight.</summary>
        public int MaxInFlightBatches => 0;

        private void OnMessage(object? sender, GossipMessage message)
        {
            if (_transport.VerifiedNotice(message) is { } commit)
            {
                _ = _observer.OnHeadAsync(commit.ToSeq).AsTask();
            }
        }

        public ValueTask DisposeAsync()
        {
            _pubsub.MessageReceived -= OnMessage;
            _pubsub.Unsubscribe(_transport.Topic);
            return ValueTask.CompletedTask;
        }
    }
}
