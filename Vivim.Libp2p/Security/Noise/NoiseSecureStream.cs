using System.Buffers;
using System.Buffers.Binary;
using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Security.Noise;

/// <summary>
/// Noise transport channel: frames are u16 BE length || ChaChaPoly(plaintext ≤ 65519). One concurrent reader and one
/// concurrent writer (the muxer serializes writes). A frame that decrypts to zero bytes is not end-of-stream.
/// </summary>
public sealed class NoiseSecureStream : Stream
{
    public const int MaxPlaintext = NoiseHandshake.MaxMessageLength - CipherState.TagLength;
    private const int FrameSize = 2 + NoiseHandshake.MaxMessageLength;
    private const int FramesPerWrite = 8;

    private readonly Stream _inner;
    private readonly CipherState _send;
    private readonly CipherState _recv;
    // Received ciphertext, frames parsed in place: one read from the socket takes every frame that has arrived (a
    // burst of gossip is one syscall, not two per frame). Sized for the largest frame, so a frame always fits once
    // what precedes it is consumed.
    private readonly byte[] _received = new byte[FrameSize];
    private int _receivedStart;
    private int _receivedEnd;
    private readonly byte[] _plain = new byte[MaxPlaintext];
    private int _plainOffset;
    private int _plainCount;
    private byte[]? _writeBuf;
    private int _disposed;

    internal NoiseSecureStream(Stream inner, CipherState send, CipherState recv)
    {
        _inner = inner;
        _send = send;
        _recv = recv;
    }

    public Stream Inner => _inner;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_plainCount == 0)
        {
            if (!await ReadFrameAsync(cancellationToken).ConfigureAwait(false))
            {
                return 0;
            }
        }
        var n = Math.Min(buffer.Length, _plainCount);
        _plain.AsSpan(_plainOffset, n).CopyTo(buffer.Span);
        _plainOffset += n;
        _plainCount -= n;
        return n;
    }

    private async ValueTask<bool> ReadFrameAsync(CancellationToken ct)
    {
        if (!await FillAsync(2, ct).ConfigureAwait(false))
        {
            return false;
        }

        var len = BinaryPrimitives.ReadUInt16BigEndian(_received.AsSpan(_receivedStart));
        if (len < CipherState.TagLength)
        {
            throw new MalformedDataException($"noise frame of {len} bytes is shorter than the tag");
        }

        if (!await FillAsync(2 + len, ct).ConfigureAwait(false))
        {
            throw new MalformedDataException("truncated noise frame");
        }

        _plainCount = _recv.DecryptWithAd(ReadOnlySpan<byte>.Empty, _received.AsSpan(_receivedStart + 2, len), _plain);
        _plainOffset = 0;
        _receivedStart += 2 + len;
        return true;
    }

    /// <summary>
    /// At least <paramref name="count"/> unparsed bytes in <see cref="_received"/>, reading whatever the socket has; false
    /// when it ends first with nothing buffered, a truncation error when it ends mid-frame.
    /// </summary>
    private async ValueTask<bool> FillAsync(int count, CancellationToken ct)
    {
        if (_receivedEnd - _receivedStart >= count)
        {
            return true;
        }

        if (_receivedStart > 0)
        {
            // Move the partial frame to the front, so the largest frame still fits behind it.
            var pending = _receivedEnd - _receivedStart;
            Buffer.BlockCopy(_received, _receivedStart, _received, 0, pending);
            _receivedStart = 0;
            _receivedEnd = pending;
        }

        while (_receivedEnd < count)
        {
            var r = await _inner.ReadAsync(_received.AsMemory(_receivedEnd), ct).ConfigureAwait(false);
            if (r == 0)
            {
                return _receivedEnd == 0 ? false : throw new MalformedDataException(count == 2 ? "truncated noise frame length" : "truncated noise frame");
            }

            _receivedEnd += r;
        }

        return true;
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _writeBuf ??= GC.AllocateUninitializedArray<byte>(FrameSize * FramesPerWrite);
        do
        {
            var used = 0;
            for (var f = 0; f < FramesPerWrite && buffer.Length > 0; f++)
            {
                var chunk = Math.Min(buffer.Length, MaxPlaintext);
                var ctLen = _send.EncryptWithAd(ReadOnlySpan<byte>.Empty, buffer.Span[..chunk], _writeBuf.AsSpan(used + 2));
                BinaryPrimitives.WriteUInt16BigEndian(_writeBuf.AsSpan(used), (ushort)ctLen);
                used += 2 + ctLen;
                buffer = buffer[chunk..];
            }
            await _inner.WriteAsync(_writeBuf.AsMemory(0, used), cancellationToken).ConfigureAwait(false);
        }
        while (buffer.Length > 0);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush() => _inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _inner.Dispose();
            _send.Dispose();
            _recv.Dispose();
        }
        base.Dispose(disposing);
    }
}
