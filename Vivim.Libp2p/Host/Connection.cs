using Vivim.Libp2p.Core;
using Vivim.Libp2p.Muxing.Yamux;

namespace Vivim.Libp2p.Host;

public enum ConnectionDirection
{
    Inbound,
    Outbound,
}

/// <summary>An upgraded connection (TCP + Noise + Yamux) to an authenticated peer.</summary>
public sealed class Connection
{
    internal Connection(Libp2pHost host, YamuxSession session, PeerId remotePeer, Libp2pPublicKey remoteKey, Multiaddr localAddress, Multiaddr remoteAddress, ConnectionDirection direction)
    {
        Host = host;
        Session = session;
        RemotePeer = remotePeer;
        RemotePublicKey = remoteKey;
        LocalAddress = localAddress;
        RemoteAddress = remoteAddress;
        Direction = direction;
    }

    internal Libp2pHost Host { get; }

    /// <summary>The identify exchange in flight on this connection (js accepts one inbound identify stream at a time).</summary>
    internal Task<Protocols.Identify.IdentifyInfo>? IdentifyInFlight { get; set; }

    internal object Gate { get; } = new();

    internal System.Collections.Concurrent.ConcurrentDictionary<string, int> InboundPerProtocol { get; } = new(StringComparer.Ordinal);

    public YamuxSession Session { get; }

    public PeerId RemotePeer { get; }

    public Libp2pPublicKey RemotePublicKey { get; }

    public Multiaddr LocalAddress { get; }

    /// <summary>The remote TCP address (without /p2p/).</summary>
    public Multiaddr RemoteAddress { get; }

    public ConnectionDirection Direction { get; }

    public DateTimeOffset Opened { get; } = DateTimeOffset.UtcNow;

    public bool IsClosed => Session.IsClosed;

    /// <summary>Opens a stream and negotiates one of <paramref name="protocols"/> (in preference order).</summary>
    public Task<Libp2pStream> NewStreamAsync(IReadOnlyList<string> protocols, CancellationToken cancellationToken = default) =>
        Host.OpenStreamOnAsync(this, protocols, cancellationToken);

    public Task CloseAsync() => Session.CloseAsync();

    public override string ToString() => $"{Direction} {RemoteAddress}/p2p/{RemotePeer}";
}

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

/// <summary>Handles an inbound stream once its protocol is negotiated. The host disposes the stream when the task ends.</summary>
public delegate Task StreamHandler(Libp2pStream stream, CancellationToken cancellationToken);

public sealed class PeerEventArgs(PeerId peer, Connection connection) : EventArgs
{
    public PeerId Peer { get; } = peer;

    public Connection Connection { get; } = connection;
}

public sealed class PeerIdentifiedEventArgs(Protocols.Identify.IdentifyInfo info, Connection connection) : EventArgs
{
    public Protocols.Identify.IdentifyInfo Info { get; } = info;

    public Connection Connection { get; } = connection;
}
