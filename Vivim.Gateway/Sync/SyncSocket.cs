using System.Diagnostics;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Vivim.Clones;
using Vivim.Gateway.Api;
using Vivim.Gateway.Auth;
using Vivim.Gateway.Hosting;
using Vivim.Protocol;
using Vivim.Protocol.Json;
using Vivim.Security;
using Vivim.Telemetry;

namespace Vivim.Gateway.Sync;

/// <summary>
/// <c>GET /v1/clones/{cloneId}/sync</c>: the WebSocket sync channel. The clone says hello with its cursor; the session
/// (attached to this gateway's hub, which holds one stream subscription per DID) sends the backlog and then live
/// batches, never more than <c>maxInFlight</c> unacknowledged; the clone acknowledges what it applied.
/// </summary>
public sealed class SyncSocket(
    SessionHub hub,
    ApiAuthentication auth,
    IGrainFactory grains,
    CallPrincipals principals,
    SyncSocketRegistry registry,
    IOptions<GatewayOptions> options,
    TimeProvider time)
{
    private const int MaxBatchSize = 1000;
    private static readonly TimeSpan CloseHandshakeTimeout = TimeSpan.FromSeconds(5);

    public static void Map(IEndpointRouteBuilder v1) =>
        v1.MapGet("/clones/{cloneId}/sync", (HttpContext context, string cloneId, SyncSocket socket) => socket.RunAsync(context, cloneId))
            .WithName("openSyncChannel").WithTags("Sync").WithSummary("The WebSocket sync channel (signed upgrade or ?ticket=)");

    public async Task RunAsync(HttpContext context, string cloneId)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            throw new ApiException(StatusCodes.Status400BadRequest, "websocket-required", "This route is a WebSocket upgrade.");
        }

        if (context.Request.Query.TryGetValue("ticket", out var ticket))
        {
            bool redeemed;
            using (principals.Enter(CallPrincipal.Service))
            {
                redeemed = ticket.Count == 1 && ticket[0] is { Length: > 0 and <= 128 } value && await grains.GetGrain<ICloneGrain>(cloneId).RedeemSyncTicketAsync(value);
            }

            if (!redeemed)
            {
                throw new ApiException(StatusCodes.Status401Unauthorized, "invalid-ticket", "The ticket is unknown, used or expired.");
            }
        }
        else
        {
            await auth.AuthenticateCloneAsync(context, cloneId);
        }

        using var tracked = registry.Track();
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, registry.Stopping);
        var channel = new Channel(socket, options.Value);
        try
        {
            await ServeAsync(channel, cloneId, ending.Token, context.RequestAborted);
        }
        catch (OperationCanceledException) when (registry.Stopping.IsCancellationRequested)
        {
            await channel.CloseAsync(WebSocketCloseStatus.EndpointUnavailable, "gateway shutting down");
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
        catch (WebSocketException)
        {
            // The connection broke; the session below was already disposed.
        }
        catch (ProtocolViolation violation)
        {
            await channel.FailAsync(violation.Status, violation.Code, violation.Message);
            await channel.AwaitCloseAsync(CloseHandshakeTimeout);
        }
    }

    private async Task ServeAsync(Channel channel, string cloneId, CancellationToken ending, CancellationToken aborted)
    {
        var hello = await ReadHelloAsync(channel, ending, aborted);
        CloneSession session;
        try
        {
            session = await hub.OpenAsync(cloneId, hello.Cursor, hello.MaxBatchSize, ending);
        }
        catch (CloneAccessDeniedException e)
        {
            await channel.FailAsync(WebSocketCloseStatus.PolicyViolation, "clone-revoked", e.Message);
            return;
        }

        await using (session)
        {
            channel.Compression = hello.Compression;
            await channel.SendAsync(SyncFrames.Welcome(session.KnownHead, session.MaxInFlightBatches), ending);

            // Reads stop only with the connection (cancelling a socket read aborts the socket); sends stop with the
            // gateway too, which then closes with "going away" and lets the clone answer.
            using var receiving = CancellationTokenSource.CreateLinkedTokenSource(aborted);
            using var sending = CancellationTokenSource.CreateLinkedTokenSource(ending);
            using var watchingReceives = channel.AbortPendingReceivesOn(receiving.Token);
            using var watchingSends = channel.AbortPendingSendsOn(sending.Token);
            var receive = ReceiveAcksAsync(channel, session, receiving.Token);
            var send = SendAsync(channel, session, sending.Token);
            var first = await Task.WhenAny(receive, send);
            if (first == send)
            {
                if (!send.IsCompletedSuccessfully && registry.Stopping.IsCancellationRequested)
                {
                    await channel.CloseAsync(WebSocketCloseStatus.EndpointUnavailable, "gateway shutting down");
                }

                // The server closed: let the clone answer the close frame before the connection goes.
                await Task.WhenAny(receive, Task.Delay(CloseHandshakeTimeout, CancellationToken.None));
            }

            await receiving.CancelAsync();
            if (first == receive)
            {
                // Acks ended (close, violation or a fault): a send loop left running would hold the session open and stalled.
                await sending.CancelAsync();
            }

            var other = first == receive ? send : receive;
            try
            {
                await other;
            }
            catch (Exception e) when (e is OperationCanceledException or WebSocketException or ProtocolViolation)
            {
            }

            if (first == send && send.IsCanceled && registry.Stopping.IsCancellationRequested)
            {
                return; // closed as "going away" above
            }

            await first;
        }
    }

    private async Task SendAsync(Channel channel, CloneSession session, CancellationToken ending)
    {
        // Each batch is a trace of its own (sampled on its own), linked to the session's upgrade request, whose span
        // lasts as long as the session: children of it would keep every batch of a sampled session.
        var sessionSpan = Activity.Current?.Context;
        Activity.Current = null;
        ActivityLink[]? links = sessionSpan is { } context ? [new ActivityLink(context)] : null;

        // Waits without a token (with one, every wait of a caught-up session allocates and registers): one registration
        // wakes the reader instead, and the token is checked before each message.
        var outgoing = session.Outgoing;
        using var waking = ending.UnsafeRegister(static s => ((CloneSession)s!).WakeReader(), session);
        while (await outgoing.WaitToReadAsync(CancellationToken.None))
        {
            while (outgoing.TryRead(out var message))
            {
                ending.ThrowIfCancellationRequested();
                switch (message)
                {
                    case SessionBatch batch:
                        using (var span = VivimTracing.Source.StartActivity(ActivityKind.Producer, links: links, name: "vivim.sync.batch"))
                        {
                            span?.SetTag("vivim.updates", batch.Updates.Count);
                            await channel.SendAsync(channel.Compression ? SyncFrames.BatchGzip(batch) : SyncFrames.Batch(batch), ending, precompressed: channel.Compression);
                        }

                        VivimMetrics.Delivered(batch.CommittedAtMs);
                        break;
                    case SessionHead head:
                        await channel.SendAsync(SyncFrames.Head(head.HeadSeq), ending);
                        break;
                    case SessionResync resync:
                        VivimMetrics.Resynced(resync.Reason); // our reason codes: a bounded set
                        await channel.SendAsync(SyncFrames.Resync(resync.Reason), ending);
                        await channel.CloseAsync(WebSocketCloseStatus.NormalClosure, "resync");
                        return;
                    case SessionClosed { Reason: SessionCloseReason.Replaced } replaced:
                        // Policy, not a drop: the replaced clone must not reconnect and push the newer session out in turn.
                        await channel.SendAsync(SyncFrames.Error("session-replaced", "A newer sync session of this clone opened; this one is closed."), ending);
                        await channel.CloseAsync(WebSocketCloseStatus.PolicyViolation, replaced.Description);
                        return;
                    case SessionClosed closed:
                        var status = closed.Reason switch
                        {
                            SessionCloseReason.Closed => WebSocketCloseStatus.NormalClosure,
                            SessionCloseReason.Failed => WebSocketCloseStatus.InternalServerError,
                            _ => WebSocketCloseStatus.PolicyViolation, // revoked: suspended, removed, deregistered
                        };
                        await channel.CloseAsync(status, closed.Description);
                        return;
                }
            }

            ending.ThrowIfCancellationRequested();
        }

        ending.ThrowIfCancellationRequested();
        await channel.CloseAsync(WebSocketCloseStatus.NormalClosure, "closed");
    }

    private async Task ReceiveAcksAsync(Channel channel, CloneSession session, CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            var frame = await channel.ReceiveFrameAsync(token);
            if (frame is not { } text)
            {
                return; // the clone closed
            }

            // Every clone acknowledges every batch: the form the SDKs send is read without building a JSON tree.
            if (!TryReadPlainAck(text.Span, out var seq))
            {
                var message = Channel.Parse(text.Span, options.Value.MaxClientMessageBytes);
                if (!string.Equals(Member(message, "type"), "ack", StringComparison.Ordinal))
                {
                    throw new ProtocolViolation("protocol-violation", "After hello, a clone sends only acks.");
                }

                if (message.Count != 2 || message["seq"] is not JsonValue value || !value.TryGetValue<double>(out var number) || number < 0 || number != Math.Floor(number) || number > 9007199254740991)
                {
                    throw new ProtocolViolation("protocol-violation", "An ack is {\"type\":\"ack\",\"seq\":<integer>}.");
                }

                seq = (long)number;
            }

            try
            {
                await session.AcknowledgeAsync(seq);
            }
            catch (ArgumentOutOfRangeException)
            {
                throw new ProtocolViolation("protocol-violation", $"seq {seq} was not sent yet.");
            }
        }
    }

    /// <summary>
    /// Exactly <c>{"type":"ack","seq":N}</c> with N a JSON integer without leading zeros and at most 2^53 − 1: the
    /// general parser would read it as the same ack. Anything else (spaces, other order, exponents) takes that parser.
    /// </summary>
    internal static bool TryReadPlainAck(ReadOnlySpan<byte> text, out long seq)
    {
        seq = 0;
        ReadOnlySpan<byte> head = "{\"type\":\"ack\",\"seq\":"u8;
        if (!text.StartsWith(head) || text.Length < head.Length + 2 || text[^1] != (byte)'}')
        {
            return false;
        }

        var digits = text[head.Length..^1];
        if (digits.Length > 16 || (digits[0] == (byte)'0' && digits.Length > 1))
        {
            return false;
        }

        foreach (var digit in digits)
        {
            if (digit is < (byte)'0' or > (byte)'9')
            {
                return false;
            }

            seq = (seq * 10) + (digit - '0');
        }

        return seq <= 9007199254740991;
    }

    private async Task<Hello> ReadHelloAsync(Channel channel, CancellationToken ending, CancellationToken aborted)
    {
        // Cancelling a socket read aborts the socket (no error frame, no close: 1006 at the clone), so the read is
        // raced against the timeout instead; a read still pending then is where the clone's close answer arrives.
        var read = channel.ReceiveAsync(aborted);
        using (var timer = CancellationTokenSource.CreateLinkedTokenSource(ending))
        {
            var timeout = Task.Delay(options.Value.HelloTimeout, time, timer.Token);
            if (await Task.WhenAny(read, timeout) != read)
            {
                await timeout; // throws when the gateway is stopping
                channel.PendingRead = read;
                throw new ProtocolViolation("hello-timeout", "No hello in time.");
            }

            await timer.CancelAsync();
        }

        var message = await read;

        if (message is null || !string.Equals(Member(message, "type"), "hello", StringComparison.Ordinal))
        {
            throw new ProtocolViolation("protocol-violation", "The first message is {\"type\":\"hello\",\"cursor\":N,\"maxBatchSize\":M,\"compression\":false}.");
        }

        foreach (var (name, _) in message)
        {
            if (name is not ("type" or "cursor" or "maxBatchSize" or "compression"))
            {
                throw new ProtocolViolation("protocol-violation", $"Unknown hello member '{name}'.");
            }
        }

        long? cursor = message["cursor"] is null ? null : Integer(message["cursor"], "cursor", 0, 9007199254740991);
        var maxBatchSize = message["maxBatchSize"] is null ? (int?)null : (int)Integer(message["maxBatchSize"], "maxBatchSize", 1, MaxBatchSize);
        var compression = message["compression"] switch
        {
            null => false,
            JsonValue v when v.TryGetValue<bool>(out var b) => b,
            _ => throw new ProtocolViolation("protocol-violation", "compression is true or false."),
        };
        return new Hello(cursor, maxBatchSize, compression);
    }

    private static long Integer(JsonNode? node, string name, long min, long max) =>
        node is JsonValue value && value.TryGetValue<double>(out var number) && number == Math.Floor(number) && number >= min && number <= max
            ? (long)number
            : throw new ProtocolViolation("protocol-violation", $"{name} is an integer within {min}..{max}.");

    private static string? Member(JsonObject message, string name) =>
        message[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private sealed record Hello(long? Cursor, int? MaxBatchSize, bool Compression);

    /// <summary>A broken rule of the channel: an error frame, then the socket closes.</summary>
    private sealed class ProtocolViolation(string code, string message, WebSocketCloseStatus status = WebSocketCloseStatus.ProtocolError) : Exception(message)
    {
        public string Code { get; } = code;

        public WebSocketCloseStatus Status { get; } = status;
    }

    /// <summary>One socket: sends are serialized (acks are read while batches go out), reads are bounded.</summary>
    /// <remarks>
    /// A cancelable token costs the socket a registration on every read and, on every send, its slow path (an async
    /// state machine, a lock wait and the pipe's registration too). The session's two loops therefore give the socket
    /// no token: one registration per session aborts the socket when the loop's token is cancelled while one of its
    /// reads or sends is pending, which is what the socket does with a token it is given.
    /// </remarks>
    private sealed class Channel(WebSocket socket, GatewayOptions options)
    {
        private readonly SemaphoreSlim _sending = new(1, 1);
        private CancellationToken _watchedSends;
        private CancellationToken _watchedReceives;
        private int _pendingSends;
        private int _pendingReceives;

        public bool Compression { get; set; }

        public CancellationTokenRegistration AbortPendingSendsOn(CancellationToken token)
        {
            _watchedSends = token;
            return AbortWhenPending(token, static channel => Volatile.Read(ref channel._pendingSends));
        }

        public CancellationTokenRegistration AbortPendingReceivesOn(CancellationToken token)
        {
            _watchedReceives = token;
            return AbortWhenPending(token, static channel => Volatile.Read(ref channel._pendingReceives));
        }

        /// <summary>Aborts the socket when <paramref name="token"/> is cancelled while <paramref name="pending"/> counts an operation (one registration per session).</summary>
        private CancellationTokenRegistration AbortWhenPending(CancellationToken token, Func<Channel, int> pending) =>
            token.UnsafeRegister(_ =>
            {
                if (pending(this) > 0)
                {
                    Abort();
                }
            }, null);

        private void Abort() => socket.Abort();

        /// <summary>
        /// Whether an operation under <paramref name="token"/> is left to the registration watching it (then the socket
        /// gets no token and the operation is counted in <paramref name="pending"/> until it ends). Counted first, then
        /// checked: a cancellation either finds the operation pending or is seen here.
        /// </summary>
        private static bool Watched(CancellationToken token, CancellationToken watched, ref int pending)
        {
            if (!token.CanBeCanceled || token != watched)
            {
                return false;
            }

            Interlocked.Increment(ref pending);
            if (token.IsCancellationRequested)
            {
                Interlocked.Decrement(ref pending);
                token.ThrowIfCancellationRequested();
            }

            return true;
        }

        public async Task SendAsync(byte[] json, CancellationToken token, bool precompressed = false)
        {
            var (bytes, type) = Compression
                ? (precompressed ? json : SyncFrames.Gzip(json), WebSocketMessageType.Binary)
                : (json, WebSocketMessageType.Text);
            await _sending.WaitAsync(token);
            try
            {
                var watched = Watched(token, _watchedSends, ref _pendingSends);
                try
                {
                    await socket.SendAsync(bytes, type, endOfMessage: true, watched ? CancellationToken.None : token);
                }
                finally
                {
                    if (watched)
                    {
                        Interlocked.Decrement(ref _pendingSends);
                    }
                }
            }
            finally
            {
                _sending.Release();
            }
        }

        private byte[]? _buffer; // one per socket, not one per message: every clone acknowledges every batch

        /// <summary>The next message as a JSON object, or null when the clone closed.</summary>
        public async Task<JsonObject?> ReceiveAsync(CancellationToken token) =>
            await ReceiveFrameAsync(token) is { } text ? Parse(text.Span, options.MaxClientMessageBytes) : null;

        public static JsonObject Parse(ReadOnlySpan<byte> text, int maxBytes)
        {
            try
            {
                return ProtocolJson.ParseObject(text, new JsonLimits(maxBytes, 8));
            }
            catch (ProtocolException e)
            {
                throw new ProtocolViolation("invalid-message", "Messages are JSON objects (text, or gzip in binary frames): " + e.Message);
            }
        }

        /// <summary>
        /// The next message's text (inflated when it came gzipped in a binary frame), or null when the clone closed.
        /// Valid until the next receive.
        /// </summary>
        public async Task<ReadOnlyMemory<byte>?> ReceiveFrameAsync(CancellationToken token)
        {
            var buffer = _buffer ??= new byte[options.MaxClientMessageBytes];
            var length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    throw new ProtocolViolation("message-too-big", $"Messages from a clone are at most {buffer.Length} bytes.", WebSocketCloseStatus.MessageTooBig);
                }

                var watched = Watched(token, _watchedReceives, ref _pendingReceives);
                ValueWebSocketReceiveResult result;
                try
                {
                    result = await socket.ReceiveAsync(buffer.AsMemory(length), watched ? CancellationToken.None : token);
                }
                finally
                {
                    if (watched)
                    {
                        Interlocked.Decrement(ref _pendingReceives);
                    }
                }

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await CloseAsync(WebSocketCloseStatus.NormalClosure, "closed");
                    return null;
                }

                length += result.Count;
                if (!result.EndOfMessage)
                {
                    continue;
                }

                if (result.MessageType != WebSocketMessageType.Binary)
                {
                    return buffer.AsMemory(0, length);
                }

                try
                {
                    return SyncFrames.Gunzip(buffer.AsSpan(0, length), options.MaxClientMessageBytes);
                }
                catch (InvalidDataException e)
                {
                    throw new ProtocolViolation("invalid-message", "Messages are JSON objects (text, or gzip in binary frames): " + e.Message);
                }
            }
        }

        /// <summary>A read left running when the server gave up waiting (the hello timeout); it sees the close answer first.</summary>
        public Task<JsonObject?>? PendingRead { get; set; }

        /// <summary>Reads and drops what the clone still sends until its close frame arrives (or the time is up).</summary>
        public async Task AwaitCloseAsync(TimeSpan timeout)
        {
            using var limit = new CancellationTokenSource(timeout);
            var buffer = new byte[1024];
            try
            {
                if (PendingRead is { } pending)
                {
                    PendingRead = null;
                    if (await Task.WhenAny(pending, Task.Delay(timeout, limit.Token)) != pending)
                    {
                        _ = pending.ContinueWith(t => t.Exception, TaskScheduler.Default); // observed: it fails when the socket goes
                        return; // the clone does not answer; the connection goes when the handler returns
                    }

                    await pending;
                }

                while (socket.State == WebSocketState.CloseSent && (await socket.ReceiveAsync(buffer, limit.Token)).MessageType != WebSocketMessageType.Close)
                {
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ProtocolViolation)
            {
            }
        }

        public async Task FailAsync(WebSocketCloseStatus status, string code, string message)
        {
            try
            {
                await SendAsync(SyncFrames.Error(code, message), CancellationToken.None);
            }
            catch (WebSocketException)
            {
            }

            await CloseAsync(status, code);
        }

        public async Task CloseAsync(WebSocketCloseStatus status, string description)
        {
            if (socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
            {
                return;
            }

            // A close reason is at most 123 bytes.
            var reason = description.Length > 120 ? description[..120] : description;
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _sending.WaitAsync(timeout.Token);
                try
                {
                    await socket.CloseOutputAsync(status, reason, timeout.Token);
                }
                finally
                {
                    _sending.Release();
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
            }
        }
    }
}
