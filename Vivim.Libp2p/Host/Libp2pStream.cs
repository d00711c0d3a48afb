using Vivim.Libp2p.Core;
using Vivim.Libp2p.Muxing.Yamux;

namespace Vivim.Libp2p.Host;

/// <summary>
/// A negotiated application stream. It is a <see cref="Stream"/> (use <c>PipeReader.Create</c>/<c>PipeWriter.Create</c>
/// for System.IO.Pipelines). Reading returns 0 once the remote closed its side; <see cref="CloseWriteAsync"/> half-closes.
/// One concurrent reader and one concurrent writer are allowed.
/// </summary>
public sealed class Libp2pStream : Stream
{
    private readonly YamuxStream _inner;

    internal Libp2pStream(YamuxStream inner, string protocol, Connection connection)
    {
        _inner = inner;
        Protocol = protocol;
        Connection = connection;
    }

    public string Protocol { get; }

    public Connection Connection { get; }

    public PeerId RemotePeer => Connection.RemotePeer;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public Task CloseWriteAsync() => _inner.CloseWriteAsync();

    public void Reset() => _inner.Reset();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _inner.ReadAsync(buffer, cancellationToken);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => _inner.WriteAsync(buffer, cancellationToken);

    /// <summary>
    /// Writes <paramref name="prefix"/> then <paramref name="payload"/> at once when flow control and the connection's
    /// queue allow it without waiting; false means nothing was written. It is not a second writer: never call it while
    /// another write on this stream is under way.
    /// </summary>
    public bool TryWrite(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> payload) => _inner.TryWrite(prefix, payload);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

    public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);

    public override void Flush() => _inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }
        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync()
    {
        _inner.Dispose();
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}
