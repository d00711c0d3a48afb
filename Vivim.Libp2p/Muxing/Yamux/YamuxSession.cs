using System.Buffers;
using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Muxing.Yamux;

/// <summary>
/// A Yamux session over a reliable, ordered byte stream (normally a Noise channel).
/// All frames go through one writer task (coalesced into large transport writes); the read loop never blocks on writes,
/// so two sessions can never deadlock on full TCP buffers.
/// </summary>
public sealed class YamuxSession : IAsyncDisposable
{
    public const string ProtocolId = "/yamux/1.0.0";

    private readonly Stream _transport;
    private readonly ILogger _log;
    private readonly ConcurrentDictionary<uint, YamuxStream> _streams = new();
    private readonly Channel<YamuxStream> _accept;
    private readonly Channel<OutFrame> _out = Channel.CreateUnbounded<OutFrame>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<uint, TaskCompletionSource<bool>> _pings = new();
    private readonly CancellationTokenSource _cts = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _ackBacklog;
    private uint _nextStreamId;
    private uint _nextPing;
    private int _inbound;
    private int _outbound;
    private int _closed;
    private volatile bool _remoteGoAway;
    private volatile bool _localGoAway;
    private Task? _readLoop;
    private Task? _writeLoop;
    private Task? _keepAlive;

    /// <param name="time">The clock of keepalive pings, ping round trips, close bounds and stream close timeouts (default: the system clock).</param>
    public YamuxSession(Stream transport, bool isClient, YamuxOptions? options = null, ILogger? logger = null, TimeProvider? time = null)
    {
        Time = time ?? TimeProvider.System;
        _transport = transport;
        IsClient = isClient;
        Options = options ?? new YamuxOptions();
        if (Options.ReceiveWindow < YamuxOptions.DefaultWindow)
        {
            throw new ArgumentException("ReceiveWindow must be at least 256 KiB", nameof(options));
        }
        _log = logger ?? NullLogger.Instance;
        _nextStreamId = isClient ? 1u : 2u;
        _accept = Channel.CreateBounded<YamuxStream>(new BoundedChannelOptions(Options.AcceptBacklog) { FullMode = BoundedChannelFullMode.Wait });
        _ackBacklog = new SemaphoreSlim(Options.MaxAckBacklog, Options.MaxAckBacklog);
    }

    public bool IsClient { get; }

    public YamuxOptions Options { get; }

    internal TimeProvider Time { get; }

    /// <summary>Completes when the session has closed (for any reason).</summary>
    public Task Completion => _completion.Task;

    /// <summary>Why the session closed (null for a normal close).</summary>
    public Exception? CloseReason { get; private set; }

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    public int StreamCount => _streams.Count;

    public void Start()
    {
        _readLoop = Task.Run(ReadLoopAsync);
        _writeLoop = Task.Run(WriteLoopAsync);
        if (Options.KeepAliveInterval is { } ka)
        {
            _keepAlive = KeepAliveLoopAsync(ka); // its first delay starts here, on this thread
        }
    }

    // ---------------------------------------------------------------- outbound frames
    private readonly record struct OutFrame(byte[] Buffer, int Length, bool Pooled, TaskCompletionSource? Flushed);

    internal void EnqueueControl(YamuxFrameType type, YamuxFlags flags, uint streamId, uint length)
    {
        var buf = ArrayPool<byte>.Shared.Rent(YamuxHeader.Size);
        new YamuxHeader(type, flags, streamId, length).Write(buf);
        if (!_out.Writer.TryWrite(new OutFrame(buf, YamuxHeader.Size, true, null)))
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
    }

    /// <summary>Session-wide cap on data bytes queued for the writer; stream writers wait above it (backpressure).</summary>
    private const long MaxQueuedDataBytes = 2 * 1024 * 1024;
    private long _queuedBytes;
    private TaskCompletionSource? _drained;
    private readonly object _drainGate = new();

    internal async ValueTask EnqueueDataAsync(uint streamId, YamuxFlags flags, ReadOnlyMemory<byte> payload, CancellationToken ct)
    {
        while (Volatile.Read(ref _queuedBytes) > MaxQueuedDataBytes)
        {
            Task wait;
            lock (_drainGate)
            {
                if (Volatile.Read(ref _queuedBytes) <= MaxQueuedDataBytes)
                {
                    break;
                }
                _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _drained.Task;
            }
            await wait.WaitAsync(ct).ConfigureAwait(false);
            if (IsClosed)
            {
                throw new StreamResetException("session closed");
            }
        }
        Interlocked.Add(ref _queuedBytes, payload.Length);
        EnqueueData(streamId, flags, payload.Span);
    }

    private void OnDataWritten(long bytes)
    {
        if (bytes == 0)
        {
            return;
        }
        if (Interlocked.Add(ref _queuedBytes, -bytes) <= MaxQueuedDataBytes / 2)
        {
            TaskCompletionSource? t;
            lock (_drainGate)
            {
                t = _drained;
                _drained = null;
            }
            t?.TrySetResult();
        }
    }

    /// <summary>
    /// Enqueues one data frame of <paramref name="prefix"/> then <paramref name="payload"/> without waiting: false (and
    /// nothing enqueued) when the queue is over its cap or the session is closed. The caller took the stream's window.
    /// </summary>
    internal bool TryEnqueueData(uint streamId, ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> payload)
    {
        var length = prefix.Length + payload.Length;
        if (IsClosed || Interlocked.Add(ref _queuedBytes, length) > MaxQueuedDataBytes)
        {
            OnDataWritten(length);
            return false;
        }
        var buf = ArrayPool<byte>.Shared.Rent(YamuxHeader.Size + length);
        new YamuxHeader(YamuxFrameType.Data, YamuxFlags.None, streamId, (uint)length).Write(buf);
        prefix.CopyTo(buf.AsSpan(YamuxHeader.Size));
        payload.CopyTo(buf.AsSpan(YamuxHeader.Size + prefix.Length));
        if (!_out.Writer.TryWrite(new OutFrame(buf, YamuxHeader.Size + length, true, null)))
        {
            ArrayPool<byte>.Shared.Return(buf);
            OnDataWritten(length);
            return false;
        }
        return true;
    }

    private void EnqueueData(uint streamId, YamuxFlags flags, ReadOnlySpan<byte> payload)
    {
        var buf = ArrayPool<byte>.Shared.Rent(YamuxHeader.Size + payload.Length);
        new YamuxHeader(YamuxFrameType.Data, flags, streamId, (uint)payload.Length).Write(buf);
        payload.CopyTo(buf.AsSpan(YamuxHeader.Size));
        if (!_out.Writer.TryWrite(new OutFrame(buf, YamuxHeader.Size + payload.Length, true, null)))
        {
            ArrayPool<byte>.Shared.Return(buf);
            throw new StreamResetException("session closed");
        }
    }

    /// <summary>Completes once everything enqueued so far has been handed to the transport.</summary>
    internal Task FlushAsync()
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return _out.Writer.TryWrite(new OutFrame([], 0, false, tcs)) ? tcs.Task : Task.CompletedTask;
    }

    private async Task WriteLoopAsync()
    {
        var batch = new byte[512 * 1024];
        var reader = _out.Reader;
        var pendingFlush = new List<TaskCompletionSource>();
        try
        {
            while (await reader.WaitToReadAsync(_cts.Token).ConfigureAwait(false))
            {
                var used = 0;
                long dataBytes = 0;
                while (reader.TryRead(out var f))
                {
                    if (f.Flushed is not null)
                    {
                        pendingFlush.Add(f.Flushed);
                        continue;
                    }
                    if (used + f.Length > batch.Length && used > 0)
                    {
                        await _transport.WriteAsync(batch.AsMemory(0, used), _cts.Token).ConfigureAwait(false);
                        used = 0;
                        OnDataWritten(dataBytes);
                        dataBytes = 0;
                    }
                    if (f.Buffer.Length > 1 && f.Buffer[1] == (byte)YamuxFrameType.Data)
                    {
                        dataBytes += f.Length - YamuxHeader.Size;
                    }
                    if (f.Length > batch.Length)
                    {
                        await _transport.WriteAsync(f.Buffer.AsMemory(0, f.Length), _cts.Token).ConfigureAwait(false);
                    }
                    else
                    {
                        f.Buffer.AsSpan(0, f.Length).CopyTo(batch.AsSpan(used));
                        used += f.Length;
                    }
                    if (f.Pooled)
                    {
                        ArrayPool<byte>.Shared.Return(f.Buffer);
                    }
                }
                if (used > 0)
                {
                    await _transport.WriteAsync(batch.AsMemory(0, used), _cts.Token).ConfigureAwait(false);
                }
                OnDataWritten(dataBytes);
                await _transport.FlushAsync(_cts.Token).ConfigureAwait(false);
                foreach (var t in pendingFlush)
                {
                    t.TrySetResult();
                }
                pendingFlush.Clear();
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or Libp2pException)
        {
            Close(e is OperationCanceledException ? null : e, sendGoAway: false);
        }
        finally
        {
            foreach (var t in pendingFlush)
            {
                t.TrySetResult();
            }
            while (reader.TryRead(out var f))
            {
                f.Flushed?.TrySetResult();
                if (f.Pooled)
                {
                    ArrayPool<byte>.Shared.Return(f.Buffer);
                }
            }
        }
    }

    // ---------------------------------------------------------------- streams
    /// <summary>Opens a new outbound stream (SYN). Data may be written immediately.</summary>
    public async Task<YamuxStream> OpenStreamAsync(CancellationToken cancellationToken = default)
    {
        if (IsClosed)
        {
            throw new StreamResetException("yamux session is closed", CloseReason ?? new ObjectDisposedException(nameof(YamuxSession)));
        }
        if (_remoteGoAway || _localGoAway)
        {
            throw new StreamResetException("yamux session is going away");
        }
        if (Interlocked.Increment(ref _outbound) > Options.MaxOutboundStreams)
        {
            Interlocked.Decrement(ref _outbound);
            throw new LimitExceededException($"more than {Options.MaxOutboundStreams} outbound streams");
        }
        try
        {
            await _ackBacklog.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Interlocked.Decrement(ref _outbound);
            throw;
        }
        uint id;
        lock (_streams)
        {
            id = _nextStreamId;
            _nextStreamId += 2;
        }
        var s = new YamuxStream(this, id, outbound: true);
        _streams[id] = s;
        EnqueueControl(YamuxFrameType.WindowUpdate, YamuxFlags.Syn, id, (uint)(Options.ReceiveWindow - YamuxOptions.DefaultWindow));
        if (IsClosed)
        {
            s.OnSessionClosed(CloseReason);
        }
        return s;
    }

    /// <summary>Waits for the next inbound stream; throws when the session closes.</summary>
    public async ValueTask<YamuxStream> AcceptStreamAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _accept.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException e)
        {
            throw new StreamResetException("yamux session closed", e);
        }
    }

    internal void OnAckReceived(YamuxStream s)
    {
        if (s.Outbound && s.MarkAcked())
        {
            _ackBacklog.Release();
        }
    }

    internal void RemoveStream(YamuxStream s)
    {
        if (_streams.TryRemove(new KeyValuePair<uint, YamuxStream>(s.Id, s)))
        {
            if (s.Outbound)
            {
                Interlocked.Decrement(ref _outbound);
                if (s.MarkAcked())
                {
                    _ackBacklog.Release();
                }
            }
            else
            {
                Interlocked.Decrement(ref _inbound);
            }
        }
    }

    // ---------------------------------------------------------------- ping / keepalive
    /// <summary>Yamux-level ping (round trip of a Ping frame).</summary>
    public async Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default)
    {
        var opaque = Interlocked.Increment(ref _nextPing);
        var tcs = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pings[opaque] = tcs;
        var start = Time.GetTimestamp();
        try
        {
            EnqueueControl(YamuxFrameType.Ping, YamuxFlags.Syn, 0, opaque);
            await tcs.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            return Time.GetElapsedTime(start);
        }
        finally
        {
            _pings.TryRemove(opaque, out _);
        }
    }

    private async Task KeepAliveLoopAsync(TimeSpan interval)
    {
        try
        {
            while (!_cts.IsCancellationRequested)
            {
                await Task.Delay(interval, Time, _cts.Token).ConfigureAwait(false);
                using var timeout = new Deadline(Time, interval, _cts.Token);
                try
                {
                    await PingAsync(timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!_cts.IsCancellationRequested)
                {
                    _log.LogWarning("yamux keepalive ping unanswered for {Interval}; closing session", interval);
                    Close(new YamuxProtocolException("keepalive timeout"), sendGoAway: true);
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    // ---------------------------------------------------------------- read loop
    private async Task ReadLoopAsync()
    {
        var header = new byte[YamuxHeader.Size];
        Exception? reason = null;
        try
        {
            while (true)
            {
                var got = 0;
                while (got < YamuxHeader.Size)
                {
                    var n = await _transport.ReadAsync(header.AsMemory(got), _cts.Token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        if (got == 0)
                        {
                            return; // clean EOF
                        }
                        throw new YamuxProtocolException("connection closed inside a yamux header");
                    }
                    got += n;
                }
                var h = YamuxHeader.Parse(header);
                await HandleFrameAsync(h).ConfigureAwait(false);
            }
        }
        catch (YamuxProtocolException e)
        {
            _log.LogWarning("yamux protocol error, closing session: {Reason}", e.Message);
            reason = e;
            Close(e, sendGoAway: true, YamuxGoAwayCode.ProtocolError);
        }
        catch (MalformedDataException e)
        {
            _log.LogWarning("malformed data on the secure channel, closing session: {Reason}", e.Message);
            reason = e;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or EndOfStreamException)
        {
            if (e is not OperationCanceledException)
            {
                reason = e;
            }
        }
        catch (Exception e)
        {
            // a bug on our side: never let it escape the read loop; tell the remote and close
            _log.LogError(e, "yamux internal error, closing session");
            reason = e;
            Close(e, sendGoAway: true, YamuxGoAwayCode.InternalError);
        }
        finally
        {
            Close(reason, sendGoAway: false);
        }
    }

    private async ValueTask HandleFrameAsync(YamuxHeader h)
    {
        switch (h.Type)
        {
            case YamuxFrameType.Data:
            case YamuxFrameType.WindowUpdate:
                await HandleStreamFrameAsync(h).ConfigureAwait(false);
                break;
            case YamuxFrameType.Ping:
                if (h.StreamId != 0)
                {
                    throw new YamuxProtocolException("ping frame on a non-zero stream id");
                }
                if (h.Flags.HasFlag(YamuxFlags.Syn))
                {
                    EnqueueControl(YamuxFrameType.Ping, YamuxFlags.Ack, 0, h.Length);
                }
                else if (h.Flags.HasFlag(YamuxFlags.Ack) && _pings.TryGetValue(h.Length, out var tcs))
                {
                    tcs.TrySetResult(true);
                }
                break;
            case YamuxFrameType.GoAway:
                if (h.StreamId != 0)
                {
                    throw new YamuxProtocolException("go away frame on a non-zero stream id");
                }
                _remoteGoAway = true;
                _log.LogDebug("remote sent GoAway code {Code}", h.Length);
                break;
        }
    }

    private async ValueTask HandleStreamFrameAsync(YamuxHeader h)
    {
        if (h.StreamId == 0)
        {
            throw new YamuxProtocolException($"{h.Type} frame on stream 0");
        }
        if (h.Type == YamuxFrameType.Data && h.Length > (uint)Options.ReceiveWindow)
        {
            throw new YamuxProtocolException($"data frame of {h.Length} bytes exceeds the receive window");
        }
        _streams.TryGetValue(h.StreamId, out var stream);
        if (h.Flags.HasFlag(YamuxFlags.Syn))
        {
            if (stream is not null)
            {
                throw new YamuxProtocolException($"SYN for existing stream {h.StreamId}");
            }
            var remoteIsClient = (h.StreamId & 1) == 1;
            if (remoteIsClient == IsClient)
            {
                throw new YamuxProtocolException($"SYN with stream id {h.StreamId} of the wrong parity");
            }
            stream = AdmitInbound(h.StreamId);
        }
        if (h.Type == YamuxFrameType.Data)
        {
            if (h.Length > 0)
            {
                var buf = ArrayPool<byte>.Shared.Rent((int)h.Length);
                try
                {
                    await _transport.ReadExactlyAsync(buf.AsMemory(0, (int)h.Length), _cts.Token).ConfigureAwait(false);
                }
                catch
                {
                    ArrayPool<byte>.Shared.Return(buf);
                    throw;
                }
                if (stream is null)
                {
                    ArrayPool<byte>.Shared.Return(buf); // stream already gone (reset/refused): discard
                }
                else
                {
                    stream.OnData(buf, (int)h.Length); // throws YamuxProtocolException when over the window
                }
            }
        }
        else if (stream is not null && h.Length > 0)
        {
            stream.OnWindowUpdate(h.Length);
        }
        if (stream is null)
        {
            return;
        }
        if (h.Flags.HasFlag(YamuxFlags.Ack))
        {
            OnAckReceived(stream);
        }
        if (h.Flags.HasFlag(YamuxFlags.Rst))
        {
            stream.OnRemoteReset();
        }
        else if (h.Flags.HasFlag(YamuxFlags.Fin))
        {
            stream.OnRemoteFin();
        }
    }

    private YamuxStream? AdmitInbound(uint id)
    {
        if (_localGoAway || IsClosed || Interlocked.Increment(ref _inbound) > Options.MaxInboundStreams)
        {
            if (!_localGoAway && !IsClosed)
            {
                Interlocked.Decrement(ref _inbound);
            }
            _log.LogDebug("refusing inbound yamux stream {Id}: limit {Limit}", id, Options.MaxInboundStreams);
            EnqueueControl(YamuxFrameType.WindowUpdate, YamuxFlags.Rst, id, 0);
            return null;
        }
        var s = new YamuxStream(this, id, outbound: false);
        if (!_accept.Writer.TryWrite(s))
        {
            Interlocked.Decrement(ref _inbound);
            _log.LogDebug("refusing inbound yamux stream {Id}: accept backlog full", id);
            EnqueueControl(YamuxFrameType.WindowUpdate, YamuxFlags.Rst, id, 0);
            return null;
        }
        _streams[id] = s;
        EnqueueControl(YamuxFrameType.WindowUpdate, YamuxFlags.Ack, id, (uint)(Options.ReceiveWindow - YamuxOptions.DefaultWindow));
        return s;
    }

    // ---------------------------------------------------------------- close
    /// <summary>Sends GoAway (normal), flushes, and closes the transport.</summary>
    public async Task CloseAsync()
    {
        if (IsClosed)
        {
            return;
        }
        _localGoAway = true;
        EnqueueControl(YamuxFrameType.GoAway, YamuxFlags.None, 0, (uint)YamuxGoAwayCode.Normal);
        try
        {
            await FlushAsync().WaitAsync(TimeSpan.FromSeconds(2), Time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        Close(null, sendGoAway: false);
    }

    private void Close(Exception? reason, bool sendGoAway, YamuxGoAwayCode code = YamuxGoAwayCode.Normal)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }
        CloseReason = reason;
        if (sendGoAway)
        {
            // best effort, bounded: the writer gets a moment to push the GoAway before the transport closes
            EnqueueControl(YamuxFrameType.GoAway, YamuxFlags.None, 0, (uint)code);
            _ = FlushAsync().WaitAsync(TimeSpan.FromMilliseconds(500), Time).ContinueWith(_ => Shutdown(), TaskScheduler.Default);
        }
        else
        {
            Shutdown();
        }
        _accept.Writer.TryComplete();
        lock (_drainGate)
        {
            _drained?.TrySetResult();
            _drained = null;
        }
        foreach (var s in _streams.Values)
        {
            s.OnSessionClosed(reason);
        }
        _streams.Clear();
        foreach (var p in _pings.Values)
        {
            p.TrySetException(new StreamResetException("session closed"));
        }
    }

    private void Shutdown()
    {
        _out.Writer.TryComplete();
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
        _transport.Dispose();
        _completion.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);
        await _completion.Task.ConfigureAwait(false);
        foreach (var t in new[] { _readLoop, _writeLoop, _keepAlive })
        {
            if (t is not null)
            {
                try
                {
                    await t.ConfigureAwait(false);
                }
                catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
                {
                }
            }
        }
        while (_accept.Reader.TryRead(out var s))
        {
            await s.DisposeAsync().ConfigureAwait(false);
        }
        _cts.Dispose();
        _ackBacklog.Dispose();
    }
}
