using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Vivim.Client.Transports;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Client.Http;

/// <summary>
/// A clone reaching its parent through a Vivim gateway: the clone endpoints over HTTP, every request signed with the
/// clone's key (RFC 9421), and live sync over the WebSocket channel with acknowledgements and reconnection. It moves
/// data only: <see cref="Sync.SyncProtocol"/> verifies everything it delivers.
/// </summary>
public sealed class HttpSyncTransport : ISyncTransport, IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _gateway;
    private readonly Lock _lock = new();
    private WebSocketLiveSession? _live;

    /// <param name="gateway">The gateway's base address (<c>http://localhost:8080</c>).</param>
    /// <param name="cloneKey">The clone's key: its DID is the one it registered with.</param>
    /// <param name="handler">The HTTP stack underneath the signer; null for a new <see cref="SocketsHttpHandler"/>.</param>
    public HttpSyncTransport(Uri gateway, SigningKey cloneKey, string cloneId, HttpSyncTransportOptions? options = null, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        ArgumentNullException.ThrowIfNull(cloneKey);
        ArgumentException.ThrowIfNullOrEmpty(cloneId);
        if (cloneId.Any(c => c is '/' or '?' or '#' or '%' || char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            throw new ArgumentException("A clone id cannot hold '/', '?', '#', '%' or whitespace.", nameof(cloneId));
        }

        _gateway = GatewayAddress.Normalize(gateway);
        CloneKey = cloneKey;
        CloneId = cloneId;
        Options = options ?? new HttpSyncTransportOptions();
        _http = new HttpClient(new CloneRequestSigner(cloneKey, handler ?? new SocketsHttpHandler(), Options.TimeProvider), disposeHandler: true)
        {
            Timeout = Timeout.InfiniteTimeSpan, // SyncProtocol bounds every call with its syncTimeout
        };
    }

    public string CloneId { get; }

    public SigningKey CloneKey { get; }

    public Uri Gateway => _gateway;

    public HttpSyncTransportOptions Options { get; }

    /// <summary>The WebSocket session's life: connections, drops, reconnection waits, resyncs, server errors.</summary>
    public event EventHandler<LiveSessionEventArgs>? SessionEvent;

    /// <summary>How many times a live WebSocket session has connected (the first time and every reconnection).</summary>
    public int LiveConnections => _live?.Connections ?? 0;

    /// <summary>True while a live WebSocket is open.</summary>
    public bool IsLiveConnected => _live?.IsConnected ?? false;

    /// <summary>The path and query of a clone endpoint, exactly as sent and signed (the clone id unescaped).</summary>
    public string TargetOf(string endpoint, string? query = null) =>
        $"/v1/clones/{CloneId}/{endpoint}" + (query is null ? string.Empty : "?" + query);

    public async Task<StateSnapshot> GetSnapshotAsync(CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Get, TargetOf("snapshot"), null, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        var json = await GatewayHttp.ReadObjectAsync(response, Options.MaxSnapshotBytes, cancellationToken).ConfigureAwait(false);
        return GatewayHttp.Model<StateSnapshot>(json, response.StatusCode);
    }

    public async Task<UpdatePage> GetUpdatesAsync(long afterSeq, int limit, CancellationToken cancellationToken)
    {
        var query = string.Create(CultureInfo.InvariantCulture, $"after={afterSeq}&limit={limit}");
        using var response = await SendAsync(HttpMethod.Get, TargetOf("updates", query), null, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Gone)
        {
            var problem = await GatewayHttp.ProblemAsync(response, cancellationToken).ConfigureAwait(false);
            if (problem.Code == "resync-required")
            {
                return new UpdatePage([], [], 0, ResyncRequired: true);
            }

            throw problem;
        }

        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        var json = await GatewayHttp.ReadObjectAsync(response, Options.MaxResponseBytes, cancellationToken).ConfigureAwait(false);
        return new UpdatePage(
            GatewayHttp.List<StateUpdate>(json, "updates", response.StatusCode),
            GatewayHttp.List<Commit>(json, "commits", response.StatusCode),
            GatewayHttp.Integer(json, "headSeq", response.StatusCode));
    }

    public async Task<long> GetHeadSeqAsync(CancellationToken cancellationToken) =>
        (await GetStatusAsync(cancellationToken).ConfigureAwait(false)).HeadSeq;

    /// <summary>The clone's status as its parent sees it: the SDK's <see cref="SyncStatus"/>, the persisted cursor and the head.</summary>
    public async Task<RemoteCloneStatus> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Get, TargetOf("status"), null, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        var json = await GatewayHttp.ReadObjectAsync(response, Options.MaxResponseBytes, cancellationToken).ConfigureAwait(false);
        return RemoteCloneStatus.FromJson(json, response.StatusCode);
    }

    public async Task AcknowledgeAsync(long seq, string stateHash, CancellationToken cancellationToken)
    {
        // On the socket when one is open (the gateway counts in-flight batches there); otherwise over HTTP.
        if (_live is { } live && await live.TryAcknowledgeAsync(seq, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        using var response = await SendAsync(HttpMethod.Post, TargetOf("ack"), new JsonObject { ["seq"] = seq }, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
    }

    public async Task<SubmitResult> SubmitAsync(IReadOnlyList<string> updatesJson, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(updatesJson);
        // The updates go out as the exact text their author signed, not re-serialized.
        var body = new StringBuilder("{\"updates\":[");
        body.AppendJoin(',', updatesJson);
        body.Append("]}");
        using var request = new HttpRequestMessage(HttpMethod.Post, Absolute(TargetOf("updates"))) { Content = GatewayHttp.JsonContent(body.ToString()) };
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        return await UpdateBatches.ReadResultAsync(response, Options.MaxResponseBytes, revocationOn403: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The clone deregisters itself (<c>DELETE /v1/clones/{cloneId}</c>).</summary>
    public async Task DeregisterAsync(CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Delete, $"/v1/clones/{CloneId}", null, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A single-use ticket for opening the WebSocket without signature headers (browsers).</summary>
    public async Task<(string Ticket, long ExpiresAt)> CreateSyncTicketAsync(CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Post, TargetOf("sync-ticket"), null, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        var json = await GatewayHttp.ReadObjectAsync(response, Options.MaxResponseBytes, cancellationToken).ConfigureAwait(false);
        var ticket = GatewayHttp.Text(json, "ticket") ?? throw new GatewayException(response.StatusCode, "invalid-response", "The sync ticket answer has no ticket.");
        return (ticket, GatewayHttp.Integer(json, "expiresAt", response.StatusCode));
    }

    public async Task<ILiveSubscription> SubscribeAsync(ILiveSyncObserver observer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var session = new WebSocketLiveSession(this, observer);
        await session.StartAsync(cancellationToken).ConfigureAwait(false);
        WebSocketLiveSession? previous;
        lock (_lock)
        {
            previous = _live;
            _live = session;
        }

        if (previous is not null)
        {
            await previous.DisposeAsync().ConfigureAwait(false);
        }

        return session;
    }

    public void Dispose() => _http.Dispose();

    internal void Detach(WebSocketLiveSession session)
    {
        lock (_lock)
        {
            if (_live == session)
            {
                _live = null;
            }
        }
    }

    internal void Raise(LiveSessionEventArgs e)
    {
        try
        {
            SessionEvent?.Invoke(this, e);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A listener's failure must not end the session.
        }
    }

    internal Uri Absolute(string target) => new(_gateway, target);

    internal Uri WebSocketUri(string target)
    {
        var builder = new UriBuilder(Absolute(target)) { Scheme = _gateway.Scheme == Uri.UriSchemeHttps ? "wss" : "ws" };
        return builder.Uri;
    }

    internal async Task<HttpResponseMessage> SendAsync(HttpMethod method, string target, JsonNode? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, Absolute(target));
        if (body is not null)
        {
            request.Content = GatewayHttp.JsonContent(body);
        }

        return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A clone call's failure: 403 means the parent revoked this clone (suspended or removed).</summary>
    internal static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var problem = await GatewayHttp.ProblemAsync(response, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Forbidden)
        {
            throw new CloneRevokedException($"The parent refused this clone: {problem.Message}", problem);
        }

        throw problem;
    }
}
