using Vivim.Libp2p.Core;
using Vivim.Libp2p.Muxing.Yamux;

namespace Vivim.Libp2p.Host;

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
        Opened = host.Time.GetUtcNow();
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

    public DateTimeOffset Opened { get; }

    public bool IsClosed => Session.IsClosed;

    /// <summary>Opens a stream and negotiates one of <paramref name="protocols"/> (in preference order).</summary>
    public Task<Libp2pStream> NewStreamAsync(IReadOnlyList<string> protocols, CancellationToken cancellationToken = default) =>
        Host.OpenStreamOnAsync(this, protocols, cancellationToken);

    public Task CloseAsync() => Session.CloseAsync();

    public override string ToString() => $"{Direction} {RemoteAddress}/p2p/{RemotePeer}";
}
