using System.Net;
using System.Net.WebSockets;
using Vivim.Client.Transports;
using Vivim.Protocol;
using Vivim.Protocol.Http;

namespace Vivim.Client.Http;

/// <summary>
/// A live sync session over the gateway's WebSocket channel: hello with the clone's cursor, batches handed to the
/// observer, acknowledgements after applying, head heartbeats, and reconnection with exponential backoff from the
/// cursor the clone has reached — so a dropped connection costs neither a gap nor a duplicate application.
/// </summary>
internal sealed class WebSocketLiveSession : ILiveSubscription
{
    private readonly HttpSyncTransport _transport;
    private readonly ILiveSyncObserver _observer;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly Lock _lock = new();
    private Task _loop = Task.CompletedTask;
    private ClientWebSocket? _socket;
    private long _received;
    private long _acknowledged;
    private long _knownHead;
    private int _maxInFlight = 1;
    private int _connections;
    private int _disposed;
    private long _resyncFrom = -1;

    public WebSocketLiveSession(HttpSyncTransport transport, ILiveSyncObserver observer)
    {
        _transport = transport;
        _observer = observer;
    }

    public int MaxInFlightBatches => Volatile.Read(ref _maxInFlight);

    public int Connections => Volatile.Read(ref _connections);

    public bool IsConnected => _socket is { State: WebSocketState.Open };

    /// <summary>Connects once: a refusal here (bad signature, revoked, unknown clone) is the caller's error, not a retry.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var socket = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        _loop = Task.Run(() => RunAsync(socket));
    }

    /// <summary>
    /// Acknowledges on the socket; false when no socket is open, or when <paramref name="seq"/> is beyond what this
    /// connection delivered (a pull went further) — then the caller acknowledges over HTTP as well.
    /// </summary>
    public async Task<bool> TryAcknowledgeAsync(long seq, CancellationToken cancellationToken)
    {
        var socket = _socket;
        if (socket is not { State: WebSocketState.Open })
        {
            return false;
        }

        long ack;
        bool covered;
        lock (_lock)
        {
            // The gateway accepts acknowledgements only of what this connection sent (anything more is a protocol error).
            ack = Math.Min(seq, _received);
            covered = seq <= _received;
            if (ack <= _acknowledged)
            {
                return covered;
            }

            _acknowledged = ack;
        }

        try
        {
            await SendAsync(socket, SyncChannelCodec.Ack(ack), cancellationToken).ConfigureAwait(false);
            return covered;
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or InvalidOperationException)
        {
            return false; // the socket just dropped; the reconnection resumes from the cursor anyway
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (_socket is { } socket)
        {
            await CloseQuietlyAsync(socket).ConfigureAwait(false);
        }

        await _loop.ConfigureAwait(false);
        _transport.Detach(this);
        _stop.Dispose();
        _sendLock.Dispose();
    }

    private async Task RunAsync(ClientWebSocket socket)
    {
        var token = _stop.Token;
        var attempt = 0;
        while (!token.IsCancellationRequested)
        {
            var outcome = await ReceiveLoopAsync(socket, token).ConfigureAwait(false);
            _socket = null;
            socket.Dispose();
            if (outcome.Revoked is { } reason)
            {
                _transport.Raise(new LiveSessionEventArgs(LiveSessionEventArgs.Revoked, reason, _observer.Cursor));
                await _observer.OnRevokedAsync(reason).ConfigureAwait(false);
                return;
            }

            if (token.IsCancellationRequested)
            {
                return;
            }

            _transport.Raise(new LiveSessionEventArgs(LiveSessionEventArgs.Disconnected, outcome.Reason, _observer.Cursor));
            if (outcome.Received)
            {
                attempt = 0; // it worked for a while: start the backoff over
            }

            while (true)
            {
                var delay = Backoff(attempt++);
                _transport.Raise(new LiveSessionEventArgs(LiveSessionEventArgs.Reconnecting, outcome.Reason, _observer.Cursor, delay));
                try
                {
                    await Task.Delay(delay, _transport.Options.TimeProvider, token).ConfigureAwait(false);
                    await AwaitNewSnapshotAsync(token).ConfigureAwait(false);
                    socket = await ConnectAsync(token).ConfigureAwait(false);
                    break;
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return;
                }
                catch (CloneRevokedException e)
                {
                    _transport.Raise(new LiveSessionEventArgs(LiveSessionEventArgs.Revoked, e.Message, _observer.Cursor));
                    await _observer.OnRevokedAsync(e.Message).ConfigureAwait(false);
                    return;
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    outcome = new Outcome(e.Message, null, false);
                }
            }
        }
    }

    private readonly record struct Outcome(string Reason, string? Revoked, bool Received);

    private async Task<Outcome> ReceiveLoopAsync(ClientWebSocket socket, CancellationToken token)
    {
        var received = false;
        try
        {
            while (true)
            {
                (byte[] Payload, WebSocketMessageType Type)? frame;
                // On the transport's clock, so that a test's fake clock decides when a silent server is given up on.
                using (var bound = new CancellationTokenSource(_transport.Options.IdleTimeout, _transport.Options.TimeProvider))
                using (var idle = CancellationTokenSource.CreateLinkedTokenSource(token, bound.Token))
                {
                    try
                    {
                        frame = await SyncChannelCodec.ReceiveAsync(socket, _transport.Options.MaxMessageBytes, idle.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!token.IsCancellationRequested)
                    {
                        return new Outcome($"nothing received for {_transport.Options.IdleTimeout.TotalSeconds:0} s", null, received);
                    }
                }

                if (frame is not { } f)
                {
                    await CloseQuietlyAsync(socket).ConfigureAwait(false); // answer the close frame
                    // The gateway closes with policy-violation when the clone is suspended or removed.
                    if (socket.CloseStatus == WebSocketCloseStatus.PolicyViolation)
                    {
                        return new Outcome("closed", socket.CloseStatusDescription is { Length: > 0 } d ? d : "access revoked", received);
                    }

                    return new Outcome($"closed by the gateway ({socket.CloseStatus} {socket.CloseStatusDescription})", null, received);
                }

                received = true;
                var message = SyncChannelCodec.Parse(SyncChannelCodec.Decode(f.Payload, f.Type, _transport.Options.MaxMessageBytes));
                switch (message)
                {
                    case BatchMessage batch:
                        Seqs.RaiseTo(ref _knownHead, batch.HeadSeq);
                        if (batch.Updates.Count > 0 && batch.Updates[^1].Seq is { } last)
                        {
                            lock (_lock)
                            {
                                _received = Math.Max(_received, last);
                            }
                        }

                        // A batch cut at the batch size may end inside a commit, as a full page may.
                        await _observer.OnUpdatesAsync(new LiveUpdates(batch.Updates, batch.Commits, batch.HeadSeq, batch.Updates.Count >= _observer.Config.MaxBatchSize)).ConfigureAwait(false);
                        break;
                    case HeadMessage head:
                        Seqs.RaiseTo(ref _knownHead, head.HeadSeq);
                        await _observer.OnHeadAsync(head.HeadSeq).ConfigureAwait(false);
                        break;
                    case ResyncMessage resync:
                        // The log no longer reaches the cursor: a pull answers 410 and the clone takes a new snapshot.
                        _transport.Raise(new LiveSessionEventArgs(LiveSessionEventArgs.Resync, resync.Reason, _observer.Cursor));
                        Interlocked.Exchange(ref _resyncFrom, _observer.Cursor);
                        await _observer.OnHeadAsync(Math.Max(Interlocked.Read(ref _knownHead), _observer.Cursor + 1)).ConfigureAwait(false);
                        break;
                    case ErrorMessage error:
                        _transport.Raise(new LiveSessionEventArgs(LiveSessionEventArgs.ServerError, $"{error.Code}: {error.Message}", _observer.Cursor));
                        break;
                    case WelcomeMessage:
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return new Outcome("stopped", null, received);
        }
        catch (Exception e) when (e is WebSocketException or SyncChannelException or IOException or ObjectDisposedException)
        {
            // A protocol violation by the gateway is treated as a drop: reconnect from the cursor.
            socket.Abort();
            return new Outcome(e.Message, null, received);
        }
    }

    private async Task<ClientWebSocket> ConnectAsync(CancellationToken cancellationToken)
    {
        var target = _transport.TargetOf("sync");
        var socket = new ClientWebSocket();
        try
        {
            socket.Options.CollectHttpResponseDetails = true;
            socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(15);
            Uri uri;
            if (_transport.Options.UseSyncTicket)
            {
                var (ticket, _) = await _transport.CreateSyncTicketAsync(cancellationToken).ConfigureAwait(false);
                uri = _transport.WebSocketUri(target + "?ticket=" + Uri.EscapeDataString(ticket));
            }
            else
            {
                uri = _transport.WebSocketUri(target);
                var headers = CloneRequestSigner.SignTarget(_transport.CloneKey, "GET", CloneRequestSigner.TargetOf(uri), [], hasBody: false, _transport.Options.TimeProvider);
                socket.Options.SetRequestHeader(HttpMessageSignature.SignatureInputHeader, headers.SignatureInput);
                socket.Options.SetRequestHeader(HttpMessageSignature.SignatureHeader, headers.Signature);
            }

            try
            {
                await socket.ConnectAsync(uri, cancellationToken).ConfigureAwait(false);
            }
            catch (WebSocketException e)
            {
                var status = socket.HttpStatusCode;
                throw status switch
                {
                    HttpStatusCode.Forbidden => new CloneRevokedException("The parent refused this clone's sync session (403).", e),
                    HttpStatusCode.Unauthorized => new GatewayException(status, "unauthorized", "The gateway refused the sync session's signature (401).", e),
                    HttpStatusCode.NotFound => new GatewayException(status, "not-found", "The gateway does not know this clone (404).", e),
                    0 => e,
                    _ => new GatewayException(status, "http-" + (int)status, $"The gateway refused the sync session ({(int)status}).", e),
                };
            }

            var cursor = _observer.Cursor;
            lock (_lock)
            {
                // Nothing of this connection is acknowledged yet; acks start from where the hello resumes.
                _received = cursor;
                _acknowledged = cursor;
            }

            var config = _observer.Config;
            await SendAsync(socket, SyncChannelCodec.Hello(cursor, config.MaxBatchSize, config.Compression), cancellationToken).ConfigureAwait(false);
            await ReadWelcomeAsync(socket, cancellationToken).ConfigureAwait(false);
            _socket = socket;
            Interlocked.Increment(ref _connections);
            _transport.Raise(new LiveSessionEventArgs(LiveSessionEventArgs.Connected, $"resuming after seq {cursor}", cursor));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task ReadWelcomeAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        using var bound = new CancellationTokenSource(_transport.Options.IdleTimeout, _transport.Options.TimeProvider);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, bound.Token);
        var frame = await SyncChannelCodec.ReceiveAsync(socket, _transport.Options.MaxMessageBytes, timeout.Token).ConfigureAwait(false);
        if (frame is not { } f)
        {
            await CloseQuietlyAsync(socket).ConfigureAwait(false);
            if (socket.CloseStatus == WebSocketCloseStatus.PolicyViolation)
            {
                throw new CloneRevokedException($"The parent closed this clone's session: {socket.CloseStatusDescription}");
            }

            throw new SyncChannelException("closed", $"The gateway closed the session before its welcome ({socket.CloseStatus} {socket.CloseStatusDescription}).");
        }

        switch (SyncChannelCodec.Parse(SyncChannelCodec.Decode(f.Payload, f.Type, _transport.Options.MaxMessageBytes)))
        {
            case WelcomeMessage welcome:
                Volatile.Write(ref _maxInFlight, Math.Max(1, welcome.MaxInFlight));
                Seqs.RaiseTo(ref _knownHead, welcome.HeadSeq);
                return;
            case ErrorMessage error when error.Code == "clone-revoked":
                throw new CloneRevokedException($"The parent refused this clone's session: {error.Message}");
            case ErrorMessage error:
                throw new SyncChannelException(error.Code, $"The gateway refused the session: {error.Code}: {error.Message}");
            case ResyncMessage resync:
                Interlocked.Exchange(ref _resyncFrom, _observer.Cursor);
                await _observer.OnHeadAsync(Math.Max(Interlocked.Read(ref _knownHead), _observer.Cursor + 1)).ConfigureAwait(false);
                throw new SyncChannelException("resync", $"The gateway asks for a new snapshot first ({resync.Reason}).");
            default:
                throw new SyncChannelException("invalid-message", "The gateway's first message is not a welcome.");
        }
    }

    /// <summary>
    /// After a resync, reconnecting before the clone has its new snapshot would resume from the old cursor and be sent
    /// away again: wait until the cursor moved (or, should the pull not get through, a while).
    /// </summary>
    private async Task AwaitNewSnapshotAsync(CancellationToken cancellationToken)
    {
        var from = Interlocked.Exchange(ref _resyncFrom, -1);
        if (from < 0)
        {
            return;
        }

        var time = _transport.Options.TimeProvider;
        var deadline = time.GetUtcNow() + ResnapshotWait;
        while (_observer.Cursor == from && time.GetUtcNow() < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), time, cancellationToken).ConfigureAwait(false);
        }
    }

    private static readonly TimeSpan ResnapshotWait = TimeSpan.FromSeconds(30);

    private async Task SendAsync(WebSocket socket, System.Text.Json.Nodes.JsonObject message, CancellationToken cancellationToken)
    {
        // Client messages are small: always text JSON (the gateway's compression applies to what it sends).
        var (payload, type) = SyncChannelCodec.Encode(message, compress: false);
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await socket.SendAsync(payload, type, endOfMessage: true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private TimeSpan Backoff(int attempt)
    {
        var options = _transport.Options;
        var exponential = options.ReconnectInitialDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 20));
        var capped = Math.Min(exponential, options.ReconnectMaxDelay.TotalMilliseconds);
        // Jitter spreads reconnections when a gateway restart drops many clones at once.
        return TimeSpan.FromMilliseconds(capped * (0.75 + (Random.Shared.NextDouble() * 0.5)));
    }

    private static async Task CloseQuietlyAsync(WebSocket socket)
    {
        try
        {
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }
}
