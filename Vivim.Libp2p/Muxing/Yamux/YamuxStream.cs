using System.Buffers;
using System.Threading.Channels;
using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Muxing.Yamux;

/// <summary>
/// One Yamux stream as a <see cref="Stream"/>. One reader and one writer may run concurrently (not two of either).
/// Read returns 0 after the remote half-closed (FIN). <see cref="CloseWriteAsync"/> half-closes our side;
/// Dispose half-closes and stops reading; <see cref="Reset"/> aborts both directions.
/// </summary>
public sealed class YamuxStream : Stream
{
    private readonly YamuxSession _session;
    private readonly Channel<Segment> _incoming = Channel.CreateUnbounded<Segment>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly object _gate = new();
    private Segment _current;
    private long _recvWindow = YamuxOptions.DefaultWindow; // credit the remote still has (updated by read loop and reader)
    private long _consumed;                                 // consumed by the app since our last window update
    private long _sendWindow = YamuxOptions.DefaultWindow;
    private TaskCompletionSource? _sendWaiter;
    private bool _localFin;
    private bool _remoteFin;
    private bool _readClosed;
    private bool _reset;
    private Exception? _resetReason;
    private int _acked;

    private readonly record struct Segment(byte[]? Buffer, int Offset, int Count);

    internal YamuxStream(YamuxSession session, uint id, bool outbound)
    {
        _session = session;
        Id = id;
        Outbound = outbound;
        // we grant ReceiveWindow in the SYN/ACK window update
        _recvWindow = session.Options.ReceiveWindow;
    }

    public uint Id { get; }

    public bool Outbound { get; }

    public YamuxSession Session => _session;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>Receive credit the remote has left on this stream (tests: a sender stalled at the window has used it all).</summary>
    internal long RemainingReceiveWindow
    {
        get
        {
            lock (_gate)
            {
                return _recvWindow;
            }
        }
    }

    internal bool MarkAcked() => Interlocked.Exchange(ref _acked, 1) == 0;

    // ------------------------------------------------------------ called by the session read loop
    internal void OnData(byte[] buffer, int count)
    {
        lock (_gate)
        {
            if (count > _recvWindow)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                throw new YamuxProtocolException($"stream {Id}: data frame of {count} bytes exceeds the remaining receive window {_recvWindow}");
            }
            _recvWindow -= count;
            if (_reset || _remoteFin || _readClosed)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                if (_readClosed && !_reset)
                {
                    Consumed(count); // keep the remote flowing; we drop the bytes
                }
                return;
            }
        }
        if (!_incoming.Writer.TryWrite(new Segment(buffer, 0, count)))
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    internal void OnWindowUpdate(uint delta)
    {
        TaskCompletionSource? w;
        lock (_gate)
        {
            _sendWindow += delta;
            if (_sendWindow > uint.MaxValue)
            {
                throw new YamuxProtocolException($"stream {Id}: send window overflow");
            }
            w = _sendWaiter;
            _sendWaiter = null;
        }
        w?.TrySetResult();
    }

    internal void OnRemoteFin()
    {
        bool remove;
        lock (_gate)
        {
            _remoteFin = true;
            remove = _localFin;
        }
        _incoming.Writer.TryComplete();
        if (remove)
        {
            _session.RemoveStream(this);
        }
    }

    internal void OnRemoteReset() => MarkReset(new StreamResetException($"stream {Id} was reset by the remote"));

    internal void OnSessionClosed(Exception? reason) =>
        MarkReset(new StreamResetException("yamux session closed", reason ?? new ObjectDisposedException(nameof(YamuxSession))), fromSession: true);

    private void MarkReset(Exception reason, bool fromSession = false)
    {
        TaskCompletionSource? w;
        lock (_gate)
        {
            if (_reset)
            {
                return;
            }
            if (fromSession && _localFin && _remoteFin)
            {
                return;
            }
            _reset = true;
            _resetReason = reason;
            w = _sendWaiter;
            _sendWaiter = null;
        }
        if (!_remoteFin)
        {
            _incoming.Writer.TryComplete(reason);
        }
        w?.TrySetException(reason);
        if (!fromSession)
        {
            _session.RemoveStream(this);
        }
    }

    // ------------------------------------------------------------ reading
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.Length == 0)
        {
            return 0;
        }
        while (_current.Count == 0)
        {
            ReturnCurrent();
            if (_incoming.Reader.TryRead(out var seg))
            {
                _current = seg;
                break;
            }
            try
            {
                if (!await _incoming.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    return 0;
                }
            }
            catch (ChannelClosedException e)
            {
                throw e.InnerException ?? e;
            }
        }
        var n = Math.Min(buffer.Length, _current.Count);
        _current.Buffer.AsSpan(_current.Offset, n).CopyTo(buffer.Span);
        _current = _current with { Offset = _current.Offset + n, Count = _current.Count - n };
        if (_current.Count == 0)
        {
            ReturnCurrent();
        }
        Consumed(n);
        return n;
    }

    private void ReturnCurrent()
    {
        if (_current.Buffer is { } b)
        {
            ArrayPool<byte>.Shared.Return(b);
        }
        _current = default;
    }

    private void Consumed(int n)
    {
        long grant = 0;
        lock (_gate)
        {
            _consumed += n;
            if (_consumed >= _session.Options.ReceiveWindow / 2 && !_remoteFin && !_reset)
            {
                grant = _consumed;
                _consumed = 0;
                _recvWindow += grant;
            }
        }
        if (grant > 0)
        {
            _session.EnqueueControl(YamuxFrameType.WindowUpdate, YamuxFlags.None, Id, (uint)grant);
        }
    }

    // ------------------------------------------------------------ writing
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (buffer.Length > 0)
        {
            int chunk;
            Task? wait = null;
            lock (_gate)
            {
                if (_reset)
                {
                    throw _resetReason!;
                }
                if (_localFin)
                {
                    throw new InvalidOperationException("stream write side is closed");
                }
                if (_sendWindow == 0)
                {
                    _sendWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    wait = _sendWaiter.Task;
                    chunk = 0;
                }
                else
                {
                    chunk = (int)Math.Min(Math.Min(_sendWindow, buffer.Length), _session.Options.MaxFrameData);
                    _sendWindow -= chunk;
                }
            }
            if (wait is not null)
            {
                await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }
            await _session.EnqueueDataAsync(Id, YamuxFlags.None, buffer[..chunk], cancellationToken).ConfigureAwait(false);
            buffer = buffer[chunk..];
        }
    }

    /// <summary>
    /// Writes <paramref name="prefix"/> then <paramref name="payload"/> as one frame at once, without a hop to a writer
    /// task: only when the send window holds all of it and the session's queue has room. False means nothing was
    /// written (use <see cref="WriteAsync(ReadOnlyMemory{byte}, CancellationToken)"/>). Not concurrently with another write.
    /// </summary>
    internal bool TryWrite(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> payload)
    {
        var length = prefix.Length + payload.Length;
        if (length > _session.Options.MaxFrameData)
        {
            return false;
        }
        lock (_gate)
        {
            if (_reset || _localFin || _sendWindow < length)
            {
                return false;
            }
            _sendWindow -= length;
        }
        if (_session.TryEnqueueData(Id, prefix, payload))
        {
            return true;
        }
        lock (_gate)
        {
            _sendWindow += length;
        }
        return false;
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => _session.FlushAsync().WaitAsync(cancellationToken);

    /// <summary>Half-closes: sends FIN; reading continues until the remote closes.</summary>
    public Task CloseWriteAsync()
    {
        bool remove;
        lock (_gate)
        {
            if (_localFin || _reset)
            {
                return Task.CompletedTask;
            }
            _localFin = true;
            remove = _remoteFin;
        }
        _session.EnqueueControl(YamuxFrameType.WindowUpdate, YamuxFlags.Fin, Id, 0);
        if (remove)
        {
            _session.RemoveStream(this);
        }
        return _session.FlushAsync();
    }

    /// <summary>Aborts the stream in both directions (RST).</summary>
    public void Reset()
    {
        bool send;
        lock (_gate)
        {
            send = !_reset && !(_localFin && _remoteFin);
        }
        MarkReset(new StreamResetException($"stream {Id} was reset locally"));
        if (send)
        {
            _session.EnqueueControl(YamuxFrameType.WindowUpdate, YamuxFlags.Rst, Id, 0);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            bool waitForRemote;
            lock (_gate)
            {
                _readClosed = true;
                waitForRemote = !_remoteFin && !_reset;
            }
            _ = CloseWriteAsync();
            if (waitForRemote)
            {
                // the remote must FIN within the timeout, or the stream is reset so its slot is freed
                _ = Task.Delay(_session.Options.StreamCloseTimeout, _session.Time).ContinueWith(static (_, o) =>
                {
                    var s = (YamuxStream)o!;
                    bool stale;
                    lock (s._gate)
                    {
                        stale = !s._remoteFin && !s._reset;
                    }
                    if (stale)
                    {
                        s.Reset();
                    }
                }, this, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            }
            ReturnCurrent();
            while (_incoming.Reader.TryRead(out var seg))
            {
                if (seg.Buffer is not null)
                {
                    ArrayPool<byte>.Shared.Return(seg.Buffer);
                }
            }
        }
        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
