using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Multistream;
using Vivim.Libp2p.Muxing.Yamux;
using Vivim.Libp2p.Protocols.Identify;
using Vivim.Libp2p.Protocols.Ping;
using Vivim.Libp2p.Security.Noise;
using Vivim.Libp2p.Transport.Tcp;

namespace Vivim.Libp2p.Host;

/// <summary>
/// A libp2p host: TCP → multistream → Noise → multistream → Yamux → multistream per stream.
/// Built-in protocols: identify (+push), ping. Thread-safe.
/// </summary>
public sealed class Libp2pHost : IAsyncDisposable
{
    private readonly Libp2pHostOptions _options;
    private readonly ILogger _log;
    private readonly ILogger _yamuxLog;
    private readonly ConcurrentDictionary<string, (StreamHandler Handler, int MaxInbound)> _handlers = new(StringComparer.Ordinal);

    /// <summary>Default cap on concurrent inbound streams of one protocol on one connection.</summary>
    public const int DefaultMaxInboundStreamsPerProtocol = 128;
    private readonly ConcurrentDictionary<PeerId, ImmutableConnList> _connections = new();
    private readonly ConcurrentDictionary<PeerId, IdentifyInfo> _peerInfo = new();
    private readonly ConcurrentDictionary<PeerId, HashSet<Multiaddr>> _addressBook = new();
    private readonly List<Socket> _listeners = [];
    private readonly List<Multiaddr> _listenAddrs = [];
    private readonly CancellationTokenSource _cts = new();
    private readonly List<Task> _acceptLoops = [];
    private readonly SemaphoreSlim _pendingInbound;
    private int _connectionCount;
    private int _started;
    private int _stopped;

    private sealed record ImmutableConnList(Connection[] Items);

    public Libp2pHost(Libp2pHostOptions options)
    {
        _options = options;
        var lf = options.LoggerFactory ?? NullLoggerFactory.Instance;
        _log = lf.CreateLogger("Vivim.Libp2p.Host");
        _yamuxLog = lf.CreateLogger("Vivim.Libp2p.Yamux");
        _pendingInbound = new SemaphoreSlim(options.MaxPendingInbound, options.MaxPendingInbound);
        _handlers[IdentifyMessage.ProtocolId] = (HandleIdentifyAsync, 2);
        _handlers[IdentifyMessage.PushProtocolId] = (HandleIdentifyPushAsync, 2);
        _handlers[PingProtocol.ProtocolId] = ((s, ct) => PingProtocol.HandleAsync(s, ct), 2); // like js/go: ≤ 2 inbound ping streams
    }

    public PeerId PeerId => _options.Identity.PeerId;

    public Ed25519Identity Identity => _options.Identity;

    public Libp2pHostOptions Options => _options;

    /// <summary>The host's clock (<see cref="Libp2pHostOptions.TimeProvider"/>).</summary>
    internal TimeProvider Time => _options.TimeProvider;

    private static readonly TimeSpan IdentifyTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan IdentifyPushTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Actual listen addresses (ports resolved) after <see cref="StartAsync"/>.</summary>
    public IReadOnlyList<Multiaddr> ListenAddresses
    {
        get
        {
            lock (_listenAddrs)
            {
                return [.. _listenAddrs];
            }
        }
    }

    /// <summary>
    /// What identify tells peers to dial: <see cref="Libp2pHostOptions.AnnounceAddresses"/> when set, else the actual
    /// listen addresses.
    /// </summary>
    public IReadOnlyList<Multiaddr> AdvertisedAddresses => _options.AnnounceAddresses.Count > 0 ? _options.AnnounceAddresses : ListenAddresses;

    public IReadOnlyCollection<string> Protocols => [.. _handlers.Keys.Order(StringComparer.Ordinal)];

    public int ConnectionCount => Volatile.Read(ref _connectionCount);

    public IReadOnlyList<Connection> Connections => [.. _connections.Values.SelectMany(l => l.Items)];

    /// <summary>Raised when the first connection to a peer is established.</summary>
    public event EventHandler<PeerEventArgs>? PeerConnected;

    /// <summary>Raised when the last connection to a peer has closed.</summary>
    public event EventHandler<PeerEventArgs>? PeerDisconnected;

    /// <summary>Raised for every upgraded connection.</summary>
    public event EventHandler<PeerEventArgs>? ConnectionOpened;

    /// <summary>Raised for every closed connection.</summary>
    public event EventHandler<PeerEventArgs>? ConnectionClosed;

    private void RaiseSafely(EventHandler<PeerEventArgs>? handler, Connection conn, string name)
    {
        try
        {
            handler?.Invoke(this, new PeerEventArgs(conn.RemotePeer, conn));
        }
        catch (Exception e)
        {
            _log.LogError(e, "{Event} handler threw", name);
        }
    }

    public event EventHandler<PeerIdentifiedEventArgs>? PeerIdentified;

    // ------------------------------------------------------------------ lifecycle
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("host already started");
        }
        foreach (var addr in _options.ListenAddresses)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var sock = TcpTransport.Listen(addr);
            var actual = TcpTransport.LocalAddress(sock);
            lock (_listenAddrs)
            {
                _listeners.Add(sock);
                _listenAddrs.AddRange(TcpTransport.ExpandUnspecified(actual));
            }
            _log.LogInformation("listening on {Addr}/p2p/{Peer}", actual, PeerId);
            _acceptLoops.Add(Task.Run(() => AcceptLoopAsync(sock)));
        }
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }
        await _cts.CancelAsync().ConfigureAwait(false);
        foreach (var l in _listeners)
        {
            l.Dispose();
        }
        await Task.WhenAll(_acceptLoops).WaitAsync(cancellationToken).ConfigureAwait(false);
        var all = Connections;
        await Task.WhenAll(all.Select(c => c.Session.CloseAsync())).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _cts.Dispose();
    }

    // ------------------------------------------------------------------ handlers
    /// <summary>
    /// Registers (or replaces) the handler for a protocol id; connected peers get an identify push. Inbound streams beyond
    /// <paramref name="maxInboundStreamsPerConnection"/> concurrent ones of this protocol on one connection are reset.
    /// </summary>
    public void SetStreamHandler(string protocolId, StreamHandler handler, int maxInboundStreamsPerConnection = DefaultMaxInboundStreamsPerProtocol)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxInboundStreamsPerConnection);
        ArgumentException.ThrowIfNullOrEmpty(protocolId);
        ArgumentNullException.ThrowIfNull(handler);
        if (System.Text.Encoding.UTF8.GetByteCount(protocolId) >= MultistreamSelect.MaxMessageLength)
        {
            throw new ArgumentException("protocol id too long", nameof(protocolId));
        }
        _handlers[protocolId] = (handler, maxInboundStreamsPerConnection);
        PushIdentifyInBackground();
    }

    public void RemoveStreamHandler(string protocolId)
    {
        if (_handlers.TryRemove(protocolId, out _))
        {
            PushIdentifyInBackground();
        }
    }

    // ------------------------------------------------------------------ peers / address book
    /// <summary>Address book caps: peers remembered, and addresses per peer.</summary>
    public const int MaxAddressBookPeers = 10_000;
    public const int MaxAddressesPerPeer = 32;

    /// <summary>Remembers a dialable address for a peer (bounded; extra peers/addresses are dropped).</summary>
    public void AddAddress(PeerId peer, Multiaddr addr)
    {
        if (!_addressBook.ContainsKey(peer) && _addressBook.Count >= MaxAddressBookPeers)
        {
            return;
        }
        var set = _addressBook.GetOrAdd(peer, _ => []);
        lock (set)
        {
            if (set.Count < MaxAddressesPerPeer)
            {
                set.Add(addr.WithoutPeerId());
            }
        }
    }

    /// <summary>What identify told us about a connected peer (dropped when its last connection closes).</summary>
    public IdentifyInfo? GetPeerInfo(PeerId peer) => _peerInfo.TryGetValue(peer, out var i) ? i : null;

    public Connection? GetConnection(PeerId peer) =>
        _connections.TryGetValue(peer, out var l) ? l.Items.FirstOrDefault(c => !c.IsClosed) : null;

    // ------------------------------------------------------------------ dialing
    /// <summary>Dials a TCP multiaddr (with or without /p2p/); reuses an existing connection to that peer.</summary>
    public async Task<Connection> DialAsync(Multiaddr address, CancellationToken cancellationToken = default)
    {
        ThrowIfStopped();
        var expected = address.PeerId;
        if (expected is not null)
        {
            if (expected == PeerId)
            {
                throw new ArgumentException("cannot dial self", nameof(address));
            }
            if (GetConnection(expected) is { } existing)
            {
                return existing;
            }
        }
        if (Interlocked.Increment(ref _connectionCount) > _options.MaxConnections)
        {
            Interlocked.Decrement(ref _connectionCount);
            throw new LimitExceededException($"connection limit {_options.MaxConnections} reached");
        }
        var registered = false;
        try
        {
            using var timeout = new Deadline(Time, _options.HandshakeTimeout, cancellationToken, _cts.Token);
            var sock = await TcpTransport.DialAsync(address, timeout.Token).ConfigureAwait(false);
            Connection conn;
            try
            {
                conn = await UpgradeAsync(sock, ConnectionDirection.Outbound, expected, timeout.Token).ConfigureAwait(false);
            }
            catch
            {
                sock.Dispose();
                throw;
            }
            registered = true;
            Register(conn);
            AddAddress(conn.RemotePeer, address);
            return conn;
        }
        finally
        {
            if (!registered)
            {
                Interlocked.Decrement(ref _connectionCount);
            }
        }
    }

    public Task<Connection> DialAsync(string address, CancellationToken cancellationToken = default) =>
        DialAsync(Multiaddr.Parse(address), cancellationToken);

    private async Task<Connection> ConnectAsync(PeerId peer, CancellationToken ct)
    {
        if (GetConnection(peer) is { } c)
        {
            return c;
        }
        var candidates = new List<Multiaddr>();
        if (_addressBook.TryGetValue(peer, out var set))
        {
            lock (set)
            {
                candidates.AddRange(set);
            }
        }
        if (_peerInfo.TryGetValue(peer, out var info))
        {
            candidates.AddRange(info.ListenAddresses);
        }
        Exception? last = null;
        foreach (var a in candidates.Distinct().Where(TcpTransport.CanDial))
        {
            try
            {
                return await DialAsync(a.WithPeerId(peer), ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or Libp2pException or OperationCanceledException or IOException && !ct.IsCancellationRequested)
            {
                last = e;
            }
        }
        throw new Libp2pException($"no connection to {peer} and no dialable address", last ?? new InvalidOperationException("no addresses"));
    }

    /// <summary>Opens a stream to a peer (dialing a known address if needed) and negotiates a protocol.</summary>
    public async Task<Libp2pStream> NewStreamAsync(PeerId peer, IReadOnlyList<string> protocols, CancellationToken cancellationToken = default)
    {
        ThrowIfStopped();
        var conn = await ConnectAsync(peer, cancellationToken).ConfigureAwait(false);
        return await OpenStreamOnAsync(conn, protocols, cancellationToken).ConfigureAwait(false);
    }

    public Task<Libp2pStream> NewStreamAsync(PeerId peer, string protocol, CancellationToken cancellationToken = default) =>
        NewStreamAsync(peer, [protocol], cancellationToken);

    internal async Task<Libp2pStream> OpenStreamOnAsync(Connection conn, IReadOnlyList<string> protocols, CancellationToken ct)
    {
        var ys = await conn.Session.OpenStreamAsync(ct).ConfigureAwait(false);
        try
        {
            var proto = await MultistreamSelect.SelectAsync(ys, protocols, ct).ConfigureAwait(false);
            return new Libp2pStream(ys, proto, conn);
        }
        catch
        {
            ys.Reset();
            throw;
        }
    }

    /// <summary>libp2p ping (/ipfs/ping/1.0.0) round trip.</summary>
    public async Task<TimeSpan> PingAsync(PeerId peer, CancellationToken cancellationToken = default)
    {
        await using var s = await NewStreamAsync(peer, [PingProtocol.ProtocolId], cancellationToken).ConfigureAwait(false);
        var rtt = await PingProtocol.PingOnceAsync(s, cancellationToken, Time).ConfigureAwait(false);
        await s.CloseWriteAsync().ConfigureAwait(false);
        return rtt;
    }

    // ------------------------------------------------------------------ upgrade
    private async Task<Connection> UpgradeAsync(Socket sock, ConnectionDirection dir, PeerId? expected, CancellationToken ct)
    {
        var local = TcpTransport.LocalAddress(sock);
        var remote = TcpTransport.RemoteAddress(sock);
        var net = new NetworkStream(sock, ownsSocket: true);
        var initiator = dir == ConnectionDirection.Outbound;
        try
        {
            if (initiator)
            {
                await MultistreamSelect.SelectAsync(net, [NoiseHandshake.ProtocolId], ct).ConfigureAwait(false);
            }
            else
            {
                await MultistreamSelect.HandleAsync(net, p => p == NoiseHandshake.ProtocolId, () => [NoiseHandshake.ProtocolId], ct).ConfigureAwait(false);
            }
            var noise = await NoiseHandshake.RunAsync(net, _options.Identity, initiator, expected, ct).ConfigureAwait(false);
            try
            {
                if (initiator)
                {
                    await MultistreamSelect.SelectAsync(noise.Stream, [YamuxSession.ProtocolId], ct).ConfigureAwait(false);
                }
                else
                {
                    await MultistreamSelect.HandleAsync(noise.Stream, p => p == YamuxSession.ProtocolId, () => [YamuxSession.ProtocolId], ct).ConfigureAwait(false);
                }
                var session = new YamuxSession(noise.Stream, isClient: initiator, _options.Yamux, _yamuxLog, Time);
                return new Connection(this, session, noise.RemotePeer, noise.RemotePublicKey, local, remote, dir);
            }
            catch
            {
                await noise.Stream.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        catch
        {
            await net.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (!_cts.IsCancellationRequested)
        {
            Socket sock;
            try
            {
                sock = await listener.AcceptAsync(_cts.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_cts.IsCancellationRequested)
                {
                    return;
                }
                _log.LogWarning("accept failed: {Error}", e.Message);
                continue;
            }
            sock.NoDelay = true;
            if (Interlocked.Increment(ref _connectionCount) > _options.MaxConnections)
            {
                Interlocked.Decrement(ref _connectionCount);
                _log.LogWarning("closing inbound connection from {Remote}: connection limit {Limit} reached", sock.RemoteEndPoint, _options.MaxConnections);
                sock.Dispose();
                continue;
            }
            if (!_pendingInbound.Wait(0))
            {
                Interlocked.Decrement(ref _connectionCount);
                _log.LogWarning("closing inbound connection from {Remote}: too many pending handshakes", sock.RemoteEndPoint);
                sock.Dispose();
                continue;
            }
            _ = Task.Run(() => HandleInboundAsync(sock));
        }
    }

    private async Task HandleInboundAsync(Socket sock)
    {
        var remote = sock.RemoteEndPoint;
        var registered = false;
        try
        {
            using var timeout = new Deadline(Time, _options.HandshakeTimeout, _cts.Token);
            var conn = await UpgradeAsync(sock, ConnectionDirection.Inbound, null, timeout.Token).ConfigureAwait(false);
            registered = true;
            Register(conn);
        }
        catch (Exception e) when (e is Libp2pException or IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            _log.LogWarning("inbound connection from {Remote} failed during upgrade: {Reason}", remote, e is OperationCanceledException ? "handshake timeout" : e.Message);
            sock.Dispose();
        }
        finally
        {
            _pendingInbound.Release();
            if (!registered)
            {
                Interlocked.Decrement(ref _connectionCount);
            }
        }
    }

    private void Register(Connection conn)
    {
        var list = _connections.AddOrUpdate(conn.RemotePeer, _ => new ImmutableConnList([conn]), (_, l) => new ImmutableConnList([.. l.Items, conn]));
        var first = list.Items.Length == 1;
        conn.Session.Start();
        _log.LogInformation("connected {Conn}", conn);
        _ = Task.Run(() => StreamAcceptLoopAsync(conn));
        _ = conn.Session.Completion.ContinueWith(_ => OnConnectionClosed(conn), TaskScheduler.Default);
        RaiseSafely(ConnectionOpened, conn, nameof(ConnectionOpened));
        if (first)
        {
            RaiseSafely(PeerConnected, conn, nameof(PeerConnected));
        }
        if (_options.AutoIdentify)
        {
            _ = Task.Run(async () =>
            {
                try
                {
                    using var t = new Deadline(Time, IdentifyTimeout, _cts.Token);
                    await IdentifyAsync(conn, t.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is Libp2pException or IOException or OperationCanceledException or ObjectDisposedException)
                {
                    _log.LogDebug("identify of {Peer} failed: {Reason}", conn.RemotePeer, e.Message);
                }
            });
        }
    }

    private void OnConnectionClosed(Connection conn)
    {
        Interlocked.Decrement(ref _connectionCount);
        var removedLast = false;
        while (_connections.TryGetValue(conn.RemotePeer, out var l))
        {
            var rest = l.Items.Where(c => c != conn).ToArray();
            if (rest.Length == 0)
            {
                if (_connections.TryRemove(new KeyValuePair<PeerId, ImmutableConnList>(conn.RemotePeer, l)))
                {
                    removedLast = true;
                    break;
                }
            }
            else if (_connections.TryUpdate(conn.RemotePeer, new ImmutableConnList(rest), l))
            {
                break;
            }
        }
        _log.LogInformation("disconnected {Conn} ({Reason})", conn, conn.Session.CloseReason?.Message ?? "closed");
        RaiseSafely(ConnectionClosed, conn, nameof(ConnectionClosed));
        if (removedLast)
        {
            _peerInfo.TryRemove(conn.RemotePeer, out _); // identify data lives while connected; addresses stay in the address book
            RaiseSafely(PeerDisconnected, conn, nameof(PeerDisconnected));
        }
    }

    // ------------------------------------------------------------------ inbound streams
    private async Task StreamAcceptLoopAsync(Connection conn)
    {
        while (true)
        {
            YamuxStream ys;
            try
            {
                ys = await conn.Session.AcceptStreamAsync(_cts.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is StreamResetException or OperationCanceledException)
            {
                return;
            }
            _ = Task.Run(() => HandleStreamAsync(conn, ys));
        }
    }

    private async Task HandleStreamAsync(Connection conn, YamuxStream ys)
    {
        string proto;
        try
        {
            using var t = new Deadline(Time, _options.StreamNegotiationTimeout, _cts.Token);
            proto = await MultistreamSelect.HandleAsync(ys, _handlers.ContainsKey, () => _handlers.Keys, t.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is Libp2pException or IOException or OperationCanceledException or InvalidOperationException)
        {
            _log.LogDebug("inbound stream negotiation with {Peer} failed: {Reason}", conn.RemotePeer, e.Message);
            ys.Reset();
            return;
        }
        if (!_handlers.TryGetValue(proto, out var reg))
        {
            ys.Reset();
            return;
        }
        if (conn.InboundPerProtocol.AddOrUpdate(proto, 1, (_, n) => n + 1) > reg.MaxInbound)
        {
            conn.InboundPerProtocol.AddOrUpdate(proto, 0, (_, n) => n - 1);
            _log.LogDebug("resetting inbound {Protocol} stream from {Peer}: limit {Limit} per connection", proto, conn.RemotePeer, reg.MaxInbound);
            ys.Reset();
            return;
        }
        var stream = new Libp2pStream(ys, proto, conn);
        try
        {
            await reg.Handler(stream, _cts.Token).ConfigureAwait(false);
            await stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _log.LogDebug("handler for {Protocol} from {Peer} failed: {Reason}", proto, conn.RemotePeer, e.Message);
            stream.Reset();
            await stream.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            conn.InboundPerProtocol.AddOrUpdate(proto, 0, (_, n) => n - 1);
        }
    }

    // ------------------------------------------------------------------ identify
    private IdentifyMessage BuildIdentify(Connection? conn)
    {
        var m = new IdentifyMessage
        {
            ProtocolVersion = _options.ProtocolVersion,
            AgentVersion = _options.AgentVersion,
            PublicKey = _options.Identity.PublicKey.ToProtobuf(),
            ObservedAddr = conn?.RemoteAddress.ToBytes(),
        };
        foreach (var a in AdvertisedAddresses)
        {
            m.ListenAddrs.Add(a.ToBytes());
        }
        m.Protocols.AddRange(Protocols);
        return m;
    }

    private async Task HandleIdentifyAsync(Libp2pStream stream, CancellationToken ct)
    {
        await Varint.WriteLengthPrefixedAsync(stream, BuildIdentify(stream.Connection).Encode(), ct).ConfigureAwait(false);
        await stream.CloseWriteAsync().ConfigureAwait(false);
    }

    private async Task HandleIdentifyPushAsync(Libp2pStream stream, CancellationToken ct)
    {
        var msg = await ReadIdentifyAsync(stream, ct).ConfigureAwait(false);
        StoreIdentify(stream.Connection, msg);
    }

    private static async Task<IdentifyMessage> ReadIdentifyAsync(Stream s, CancellationToken ct)
    {
        IdentifyMessage? merged = null;
        for (var i = 0; i < IdentifyMessage.MaxMessagesPerStream; i++)
        {
            var bytes = await Varint.ReadLengthPrefixedAsync(s, IdentifyMessage.MaxMessageLength, ct).ConfigureAwait(false);
            if (bytes is null)
            {
                break;
            }
            merged = IdentifyMessage.Decode(bytes, merged);
        }
        return merged ?? throw new MalformedDataException("identify stream carried no message");
    }

    private IdentifyInfo StoreIdentify(Connection conn, IdentifyMessage msg)
    {
        _peerInfo.TryGetValue(conn.RemotePeer, out var previous);
        var info = IdentifyInfo.FromMessage(msg, conn.RemotePeer, previous);
        if (!conn.IsClosed)
        {
            _peerInfo[conn.RemotePeer] = info;
        }
        foreach (var a in info.ListenAddresses.Where(TcpTransport.CanDial))
        {
            AddAddress(conn.RemotePeer, a);
        }
        try
        {
            PeerIdentified?.Invoke(this, new PeerIdentifiedEventArgs(info, conn));
        }
        catch (Exception e)
        {
            _log.LogError(e, "PeerIdentified handler threw");
        }
        return info;
    }

    /// <summary>
    /// Runs identify on a connection and stores the result (see <see cref="GetPeerInfo"/>). Concurrent calls on the
    /// same connection share one exchange (js-libp2p refuses a second concurrent identify stream).
    /// </summary>
    public Task<IdentifyInfo> IdentifyAsync(Connection conn, CancellationToken cancellationToken = default)
    {
        Task<IdentifyInfo> task;
        lock (conn.Gate)
        {
            if (conn.IdentifyInFlight is { IsCompleted: false } running)
            {
                task = running;
            }
            else
            {
                task = IdentifyOnceAsync(conn, _cts.Token);
                conn.IdentifyInFlight = task;
            }
        }
        return task.WaitAsync(cancellationToken);
    }

    private async Task<IdentifyInfo> IdentifyOnceAsync(Connection conn, CancellationToken hostToken)
    {
        using var t = new Deadline(Time, IdentifyTimeout, hostToken);
        var cancellationToken = t.Token;
        await using var s = await OpenStreamOnAsync(conn, [IdentifyMessage.ProtocolId], cancellationToken).ConfigureAwait(false);
        await s.CloseWriteAsync().ConfigureAwait(false);
        var msg = await ReadIdentifyAsync(s, cancellationToken).ConfigureAwait(false);
        return StoreIdentify(conn, msg);
    }

    public async Task<IdentifyInfo> IdentifyAsync(PeerId peer, CancellationToken cancellationToken = default) =>
        await IdentifyAsync(await ConnectAsync(peer, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

    /// <summary>Sends identify push to every connected peer (best effort).</summary>
    public async Task PushIdentifyAsync(CancellationToken cancellationToken = default)
    {
        foreach (var conn in Connections.Where(c => !c.IsClosed))
        {
            try
            {
                await using var s = await OpenStreamOnAsync(conn, [IdentifyMessage.PushProtocolId], cancellationToken).ConfigureAwait(false);
                await Varint.WriteLengthPrefixedAsync(s, BuildIdentify(conn).Encode(), cancellationToken).ConfigureAwait(false);
                await s.CloseWriteAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is Libp2pException or IOException)
            {
                _log.LogDebug("identify push to {Peer} failed: {Reason}", conn.RemotePeer, e.Message);
            }
        }
    }

    private void PushIdentifyInBackground()
    {
        if (Volatile.Read(ref _started) == 0 || Volatile.Read(ref _stopped) != 0 || _connections.IsEmpty)
        {
            return;
        }
        _ = Task.Run(async () =>
        {
            using var t = new Deadline(Time, IdentifyPushTimeout, _cts.Token);
            try
            {
                await PushIdentifyAsync(t.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        });
    }

    private void ThrowIfStopped()
    {
        if (Volatile.Read(ref _stopped) != 0)
        {
            throw new ObjectDisposedException(nameof(Libp2pHost));
        }
    }
}
