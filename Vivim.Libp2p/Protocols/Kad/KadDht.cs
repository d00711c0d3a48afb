using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Libp2p.Transport.Tcp;

namespace Vivim.Libp2p.Protocols.Kad;

/// <summary>
/// Kademlia DHT ("/ipfs/kad/1.0.0"): routing table, FIND_NODE client and server, iterative closest-peers lookup,
/// FindPeer, provider records (ADD_PROVIDER / GET_PROVIDERS both roles), value records (PUT_VALUE / GET_VALUE both roles,
/// per-namespace validators and selectors, see <see cref="KadOptions.Validators"/>). Maintenance: buckets are refreshed by
/// random lookups when not looked up for <see cref="KadOptions.RefreshInterval"/>; a full bucket pings its least-recently-seen
/// peer before refusing a newcomer and evicts it when it does not answer; our provider records are re-announced every
/// <see cref="KadOptions.ProviderRepublishInterval"/> and stored ones expire after <see cref="KadOptions.ProviderValidity"/>.
/// Value records are not republished.
/// </summary>
public sealed class KadDht : IDisposable
{
    private readonly Libp2pHost _host;
    private readonly ILogger _log;

    public KadDht(Libp2pHost host, KadOptions? options = null)
    {
        _host = host;
        Options = options ?? new KadOptions();
        _log = host.Options.LoggerFactory?.CreateLogger("Vivim.Libp2p.Kad") ?? NullLogger.Instance;
        _time = host.Time;
        _lastRepublish = _time.GetUtcNow();
        RoutingTable = new KadRoutingTable(host.PeerId, Options.K);
        Providers = new KadProviderStore(_time, Options.ProviderValidity, Options.MaxProviderKeys);
        for (var i = 0; i < _bucketLookedUp.Length; i++)
        {
            _bucketLookedUp[i] = DateTimeOffset.MinValue;
        }
        Records = new KadRecordStore();
        host.PeerIdentified += OnPeerIdentified;
        if (Options.ServerMode)
        {
            host.SetStreamHandler(KadMessage.ProtocolId, HandleStreamAsync);
        }
        _maintenance = MaintenanceLoopAsync(_stop.Token); // its first delay starts here, so the clock counts from construction
    }

    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _maintenance;
    private readonly DateTimeOffset[] _bucketLookedUp = new DateTimeOffset[257];
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte[]> _provided = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<PeerId, byte> _livenessChecks = new();
    private DateTimeOffset _lastRepublish;

    /// <summary>Keys this node provides (re-announced every <see cref="KadOptions.ProviderRepublishInterval"/>).</summary>
    public IReadOnlyCollection<byte[]> ProvidedKeys => [.. _provided.Values];

    private long _providerLookupsAnswered;

    /// <summary>GET_PROVIDERS requests this node answered (other peers looking up providers here), since it started.</summary>
    public long ProviderLookupsAnswered => Interlocked.Read(ref _providerLookupsAnswered);

    /// <summary>Stops re-announcing <paramref name="multihash"/> (existing records expire on their own).</summary>
    public bool StopProviding(byte[] multihash) => _provided.TryRemove(Convert.ToHexString(multihash), out _);

    /// <summary>Raised after each routing-table refresh round with the number of buckets refreshed (tests, metrics).</summary>
    public event EventHandler<int>? Refreshed;

    /// <summary>Raised after each republish round with the number of keys re-announced (tests, metrics).</summary>
    public event EventHandler<int>? Republished;

    private void MarkLookedUp(byte[] key)
    {
        var cpl = RoutingTable.BucketOf(key);
        lock (_bucketLookedUp)
        {
            _bucketLookedUp[cpl] = _time.GetUtcNow();
        }
    }

    private async Task MaintenanceLoopAsync(CancellationToken ct)
    {
        var refresh = Options.RefreshInterval > TimeSpan.Zero;
        var republish = Options.ProviderRepublishInterval > TimeSpan.Zero;
        if (!refresh && !republish)
        {
            return;
        }
        var tick = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(50).Ticks, Math.Min(
            refresh ? Options.RefreshInterval.Ticks : long.MaxValue,
            republish ? Options.ProviderRepublishInterval.Ticks : long.MaxValue) / 4));
        try
        {
            var lastRefresh = _time.GetUtcNow();
            var next = Task.Delay(tick, _time, ct);
            while (!ct.IsCancellationRequested)
            {
                await next.ConfigureAwait(false);

                // The next tick is armed before this one's rounds: time that passes while they run is not lost.
                next = Task.Delay(tick, _time, ct);
                var now = _time.GetUtcNow();
                if (refresh && now - lastRefresh >= Options.RefreshInterval)
                {
                    lastRefresh = now;
                    await RefreshAsync(ct).ConfigureAwait(false);
                }
                if (republish && now - _lastRepublish >= Options.ProviderRepublishInterval)
                {
                    _lastRepublish = now;
                    await RepublishAsync(ct).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>One refresh round: a random lookup into each bucket (up to one past the highest non-empty one, capped at
    /// <see cref="KadOptions.MaxRefreshCpl"/>) not looked up within <see cref="KadOptions.RefreshInterval"/>. Returns how many ran.</summary>
    public async Task<int> RefreshAsync(CancellationToken cancellationToken = default)
    {
        var top = Math.Min(Options.MaxRefreshCpl, RoutingTable.HighestNonEmptyBucket + 1);
        if (RoutingTable.Count == 0)
        {
            Refreshed?.Invoke(this, 0);
            return 0;
        }
        var staleBefore = _time.GetUtcNow() - Options.RefreshInterval;
        var done = 0;
        for (var cpl = 0; cpl <= top; cpl++)
        {
            bool stale;
            lock (_bucketLookedUp)
            {
                stale = _bucketLookedUp[cpl] <= staleBefore;
            }
            if (!stale)
            {
                continue;
            }
            var key = RandomKeyInBucket(cpl);
            try
            {
                await GetClosestPeersAsync(key, cancellationToken).ConfigureAwait(false);
                done++;
            }
            catch (Exception e) when (e is Libp2pException or IOException or System.Net.Sockets.SocketException)
            {
                _log.LogDebug("kad: refresh of bucket {Cpl} failed: {Reason}", cpl, e.Message);
            }
        }
        Refreshed?.Invoke(this, done);
        return done;
    }

    /// <summary>A random 32-byte key whose SHA-256 shares exactly <paramref name="cpl"/> leading bits with our key.</summary>
    public byte[] RandomKeyInBucket(int cpl)
    {
        var key = new byte[32];
        while (true)
        {
            System.Security.Cryptography.RandomNumberGenerator.Fill(key);
            if (RoutingTable.BucketOf(key) == cpl)
            {
                return key;
            }
        }
    }

    /// <summary>One republish round: re-announces every key we provide. Returns how many keys were re-announced.</summary>
    public async Task<int> RepublishAsync(CancellationToken cancellationToken = default)
    {
        var n = 0;
        foreach (var key in _provided.Values)
        {
            try
            {
                await ProvideAsync(key, cancellationToken).ConfigureAwait(false);
                n++;
            }
            catch (Exception e) when (e is Libp2pException or IOException or System.Net.Sockets.SocketException)
            {
                _log.LogDebug("kad: republish failed: {Reason}", e.Message);
            }
        }
        Republished?.Invoke(this, n);
        return n;
    }

    /// <summary>Adds a DHT server to the routing table. When its bucket is full the least-recently-seen peer is pinged:
    /// an answer keeps it (moved to the tail) and the newcomer is refused; no answer evicts it for the newcomer.</summary>
    public async Task<bool> AddPeerAsync(KadPeerInfo peer, CancellationToken cancellationToken = default)
    {
        if (RoutingTable.AddOrUpdate(peer))
        {
            return true;
        }
        if (RoutingTable.LeastRecentlySeen(peer.Peer) is not { } oldest || !_livenessChecks.TryAdd(oldest.Peer, 0))
        {
            return false;
        }
        try
        {
            using var cts = new Deadline(_time, Options.LivenessTimeout, cancellationToken, _stop.Token);
            try
            {
                await _host.PingAsync(oldest.Peer, cts.Token).ConfigureAwait(false);
                RoutingTable.AddOrUpdate(oldest); // seen: to the tail
                return false;
            }
            catch (Exception e) when (e is Libp2pException or IOException or OperationCanceledException or System.Net.Sockets.SocketException && !cancellationToken.IsCancellationRequested)
            {
                _log.LogDebug("kad: {Peer} did not answer a liveness ping ({Reason}); evicted for {New}", oldest.Peer, e.Message, peer.Peer);
                return RoutingTable.Replace(oldest.Peer, peer) || RoutingTable.AddOrUpdate(peer);
            }
        }
        finally
        {
            _livenessChecks.TryRemove(oldest.Peer, out _);
        }
    }

    public KadOptions Options { get; }

    public KadRoutingTable RoutingTable { get; }

    /// <summary>Provider records this node stores (as a DHT server, and its own).</summary>
    public KadProviderStore Providers { get; }

    /// <summary>Value records this node stores.</summary>
    public KadRecordStore Records { get; }

    private IKadRecordValidator ValidatorFor(byte[] key) =>
        KadRecord.Namespace(key) is { } ns && Options.Validators.TryGetValue(ns, out var v)
            ? v
            : throw new MalformedDataException("kad record key has no registered namespace validator");

    private void OnPeerIdentified(object? sender, PeerIdentifiedEventArgs e)
    {
        if (e.Info.Protocols.Contains(KadMessage.ProtocolId))
        {
            var addrs = e.Info.ListenAddresses.Count > 0 ? e.Info.ListenAddresses : [e.Connection.RemoteAddress];
            var info = new KadPeerInfo(e.Info.PeerId, addrs);
            if (RoutingTable.AddOrUpdate(info))
            {
                _log.LogDebug("kad: added {Peer} to the routing table", e.Info.PeerId);
            }
            else if (RoutingTable.LeastRecentlySeen(info.Peer) is not null)
            {
                _ = AddPeerAsync(info, _stop.Token);
            }
        }
        else
        {
            RoutingTable.Remove(e.Info.PeerId);
        }
    }

    // ------------------------------------------------------------------ server
    private KadPeer ToWire(KadPeerInfo p) => new(p.Peer.ToByteArray(), [.. p.Addresses.Select(a => a.WithoutPeerId().ToBytes())],
        _host.GetConnection(p.Peer) is not null ? KadConnectionType.Connected : KadConnectionType.NotConnected);

    internal KadMessage? Respond(KadMessage req, PeerId from)
    {
        switch (req.Type)
        {
            case KadMessageType.FindNode:
            case KadMessageType.GetValue:
            case KadMessageType.GetProviders:
            {
                var key = req.Key ?? throw new MalformedDataException("kad request without key");
                var resp = new KadMessage { Type = req.Type, Key = key, ClusterLevelRaw = req.ClusterLevelRaw };
                foreach (var p in RoutingTable.Nearest(key, Options.K, exclude: from))
                {
                    resp.CloserPeers.Add(ToWire(p));
                }
                if (req.Type == KadMessageType.GetValue && Records.Get(key) is { } rec)
                {
                    ValidatorFor(key);
                    resp.Record = rec.Encode();
                }
                if (req.Type == KadMessageType.GetProviders)
                {
                    KadProviderStore.ValidateMultihash(key);
                    Interlocked.Increment(ref _providerLookupsAnswered);
                    foreach (var p in Providers.Get(key).Where(p => p.Addresses.Count > 0))
                    {
                        resp.ProviderPeers.Add(ToWire(p));
                    }
                }
                return resp;
            }
            case KadMessageType.Ping:
                return new KadMessage { Type = KadMessageType.Ping };
            case KadMessageType.PutValue:
            {
                var key = req.Key ?? throw new MalformedDataException("PUT_VALUE without key");
                var rec = KadRecord.Decode(req.Record ?? throw new MalformedDataException("PUT_VALUE without record"));
                if (!rec.Key.AsSpan().SequenceEqual(key))
                {
                    throw new MalformedDataException("PUT_VALUE record key differs from the message key");
                }
                var v = ValidatorFor(key);
                v.Validate(key, rec.Value);
                Records.Put(rec with { TimeReceived = _time.GetUtcNow() }, v);
                return req; // echoed, as the spec and js expect
            }
            case KadMessageType.AddProvider:
            {
                var key = req.Key ?? throw new MalformedDataException("ADD_PROVIDER without key");
                KadProviderStore.ValidateMultihash(key);
                // only the sender may announce itself, and only with addresses (as js and go do)
                foreach (var p in req.ProviderPeers)
                {
                    if (p.TryParse() is { } parsed && parsed.Peer == from && parsed.Addrs.Count > 0)
                    {
                        Providers.Add(key, from, parsed.Addrs);
                        foreach (var a in parsed.Addrs.Where(TcpTransport.CanDial))
                        {
                            _host.AddAddress(from, a);
                        }
                    }
                }
                return null; // no response, per protocol
            }
            default:
                throw new NotSupportedException($"kad {req.Type} is not supported yet");
        }
    }

    private async Task HandleStreamAsync(Libp2pStream stream, CancellationToken ct)
    {
        for (var i = 0; i < Options.MaxRequestsPerStream; i++)
        {
            byte[]? bytes;
            using (var idle = new Deadline(_time, Options.InboundIdleTimeout, ct))
            {
                try
                {
                    bytes = await Varint.ReadLengthPrefixedAsync(stream, KadMessage.MaxMessageLength, idle.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    return; // idle: close
                }
            }
            if (bytes is null)
            {
                return;
            }
            var req = KadMessage.Decode(bytes);
            var resp = Respond(req, stream.RemotePeer);
            if (resp is not null)
            {
                await Varint.WriteLengthPrefixedAsync(stream, resp.Encode(), ct).ConfigureAwait(false);
            }
        }
    }

    // ------------------------------------------------------------------ client
    /// <summary>One FIND_NODE RPC to <paramref name="remote"/>; returns the closer peers it reported (their addresses are remembered).</summary>
    public async Task<IReadOnlyList<KadPeerInfo>> FindNodeAsync(PeerId remote, byte[] key, CancellationToken cancellationToken = default)
    {
        using var t = new Deadline(_time, Options.RequestTimeout, cancellationToken);
        await using var s = await _host.NewStreamAsync(remote, [KadMessage.ProtocolId], t.Token).ConfigureAwait(false);
        var req = new KadMessage { Type = KadMessageType.FindNode, Key = key };
        await Varint.WriteLengthPrefixedAsync(s, req.Encode(), t.Token).ConfigureAwait(false);
        var bytes = await Varint.ReadLengthPrefixedAsync(s, KadMessage.MaxMessageLength, t.Token).ConfigureAwait(false)
            ?? throw new MalformedDataException("kad stream closed without a response");
        await s.CloseWriteAsync().ConfigureAwait(false);
        var resp = KadMessage.Decode(bytes);
        if (resp.Type != KadMessageType.FindNode)
        {
            throw new MalformedDataException($"kad response type {resp.Type} to FIND_NODE");
        }
        var result = new List<KadPeerInfo>();
        foreach (var p in resp.CloserPeers)
        {
            if (p.TryParse() is not { } parsed || parsed.Peer == _host.PeerId)
            {
                continue;
            }
            var addrs = parsed.Addrs.Where(TcpTransport.CanDial).ToList();
            foreach (var a in addrs)
            {
                _host.AddAddress(parsed.Peer, a);
            }
            var i = result.FindIndex(r => r.Peer == parsed.Peer);
            if (i >= 0)
            {
                result[i] = result[i] with { Addresses = [.. result[i].Addresses.Union(parsed.Addrs)] }; // js may list a peer twice
            }
            else
            {
                result.Add(new KadPeerInfo(parsed.Peer, parsed.Addrs));
            }
        }
        // the remote answered the kad protocol, so it is a server
        var known = _host.GetPeerInfo(remote)?.ListenAddresses ?? [];
        RoutingTable.AddOrUpdate(new KadPeerInfo(remote, known));
        return result;
    }

    private async Task<KadMessage?> RpcAsync(PeerId remote, KadMessage req, bool expectResponse, CancellationToken cancellationToken)
    {
        using var t = new Deadline(_time, Options.RequestTimeout, cancellationToken);
        await using var s = await _host.NewStreamAsync(remote, [KadMessage.ProtocolId], t.Token).ConfigureAwait(false);
        await Varint.WriteLengthPrefixedAsync(s, req.Encode(), t.Token).ConfigureAwait(false);
        if (!expectResponse)
        {
            await s.CloseWriteAsync().ConfigureAwait(false);
            return null;
        }
        var bytes = await Varint.ReadLengthPrefixedAsync(s, KadMessage.MaxMessageLength, t.Token).ConfigureAwait(false)
            ?? throw new MalformedDataException("kad stream closed without a response");
        await s.CloseWriteAsync().ConfigureAwait(false);
        var resp = KadMessage.Decode(bytes);
        if (resp.Type != req.Type)
        {
            throw new MalformedDataException($"kad response type {resp.Type} to {req.Type}");
        }
        return resp;
    }

    private List<KadPeerInfo> Remember(IEnumerable<KadPeer> peers)
    {
        var result = new List<KadPeerInfo>();
        foreach (var p in peers)
        {
            if (p.TryParse() is not { } parsed || parsed.Peer == _host.PeerId)
            {
                continue;
            }
            foreach (var a in parsed.Addrs.Where(TcpTransport.CanDial))
            {
                _host.AddAddress(parsed.Peer, a);
            }
            var i = result.FindIndex(r => r.Peer == parsed.Peer);
            if (i >= 0)
            {
                result[i] = result[i] with { Addresses = [.. result[i].Addresses.Union(parsed.Addrs)] };
            }
            else
            {
                result.Add(new KadPeerInfo(parsed.Peer, parsed.Addrs));
            }
        }
        return result;
    }

    /// <summary>Announces this node as a provider of <paramref name="multihash"/> to the K closest peers; returns how many were told.</summary>
    public async Task<int> ProvideAsync(byte[] multihash, CancellationToken cancellationToken = default)
    {
        KadProviderStore.ValidateMultihash(multihash);
        _provided[Convert.ToHexString(multihash)] = [.. multihash];
        // What others should dial: the announce addresses behind NAT, else the bound ones.
        var self = _host.AdvertisedAddresses;
        Providers.Add(multihash, _host.PeerId, self);
        var req = new KadMessage { Type = KadMessageType.AddProvider, Key = multihash };
        req.ProviderPeers.Add(new KadPeer(_host.PeerId.ToByteArray(), [.. self.Select(a => a.ToBytes())], KadConnectionType.Connected));
        var closest = await GetClosestPeersAsync(multihash, cancellationToken).ConfigureAwait(false);
        var told = 0;
        await Task.WhenAll(closest.Select(async p =>
        {
            try
            {
                await RpcAsync(p.Peer, req, expectResponse: false, cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref told);
            }
            catch (Exception e) when (e is Libp2pException or IOException or OperationCanceledException or System.Net.Sockets.SocketException && !cancellationToken.IsCancellationRequested)
            {
                _log.LogDebug("kad: ADD_PROVIDER to {Peer} failed: {Reason}", p.Peer, e.Message);
            }
        })).ConfigureAwait(false);
        return told;
    }

    /// <summary>Validates and stores a value record locally, then PUT_VALUE to the K closest peers; returns how many accepted it.</summary>
    public async Task<int> PutValueAsync(byte[] key, byte[] value, CancellationToken cancellationToken = default)
    {
        var v = ValidatorFor(key);
        v.Validate(key, value);
        var rec = new KadRecord(key, value, _time.GetUtcNow());
        Records.Put(rec, v);
        var req = new KadMessage { Type = KadMessageType.PutValue, Key = key, Record = rec.Encode() };
        var closest = await GetClosestPeersAsync(key, cancellationToken).ConfigureAwait(false);
        var stored = 0;
        await Task.WhenAll(closest.Select(async p =>
        {
            try
            {
                var resp = await RpcAsync(p.Peer, req, expectResponse: true, cancellationToken).ConfigureAwait(false);
                if (resp?.Record is { } r && KadRecord.Decode(r).Value.AsSpan().SequenceEqual(value))
                {
                    Interlocked.Increment(ref stored);
                }
            }
            catch (Exception e) when (e is Libp2pException or IOException or OperationCanceledException or System.Net.Sockets.SocketException && !cancellationToken.IsCancellationRequested)
            {
                _log.LogDebug("kad: PUT_VALUE to {Peer} failed: {Reason}", p.Peer, e.Message);
            }
        })).ConfigureAwait(false);
        return stored;
    }

    /// <summary>
    /// Looks a value up: the local record plus GET_VALUE to the closest peers; invalid records are dropped, the best
    /// by the namespace selector is returned (null if none).
    /// </summary>
    public async Task<byte[]?> GetValueAsync(byte[] key, CancellationToken cancellationToken = default)
    {
        var v = ValidatorFor(key);
        var values = new List<byte[]>();
        if (Records.Get(key) is { } local)
        {
            values.Add(local.Value);
        }
        var closest = await GetClosestPeersAsync(key, cancellationToken).ConfigureAwait(false);
        var req = new KadMessage { Type = KadMessageType.GetValue, Key = key };
        var results = await Task.WhenAll(closest.Select(async p =>
        {
            try
            {
                var resp = await RpcAsync(p.Peer, req, expectResponse: true, cancellationToken).ConfigureAwait(false);
                if (resp?.Record is { } r)
                {
                    var rec = KadRecord.Decode(r);
                    if (rec.Key.AsSpan().SequenceEqual(key))
                    {
                        v.Validate(key, rec.Value);
                        return rec.Value;
                    }
                }
            }
            catch (Exception e) when (e is Libp2pException or IOException or OperationCanceledException or System.Net.Sockets.SocketException && !cancellationToken.IsCancellationRequested)
            {
                _log.LogDebug("kad: GET_VALUE to {Peer} failed or invalid: {Reason}", p.Peer, e.Message);
            }
            return null;
        })).ConfigureAwait(false);
        values.AddRange(results.OfType<byte[]>());
        if (values.Count == 0)
        {
            return null;
        }
        var best = v.Select(key, values);
        return best >= 0 && best < values.Count ? values[best] : null;
    }

    /// <summary>Finds providers of <paramref name="multihash"/>: local records, then GET_PROVIDERS towards the key.</summary>
    public async Task<IReadOnlyList<KadPeerInfo>> FindProvidersAsync(byte[] multihash, int max = 20, CancellationToken cancellationToken = default)
    {
        KadProviderStore.ValidateMultihash(multihash);
        var found = Providers.Get(multihash).Where(p => p.Peer != _host.PeerId).ToDictionary(p => p.Peer);
        var target = KadRoutingTable.KeyOf(multihash);
        var cmp = Comparer<byte[]>.Create((a, b) => KadRoutingTable.CompareDistance(target, a, b));
        var queried = new HashSet<PeerId>();
        var candidates = RoutingTable.Nearest(multihash, Options.K).ToDictionary(p => p.Peer);
        while (found.Count < max)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = candidates.Values.Where(p => !queried.Contains(p.Peer))
                .OrderBy(p => KadRoutingTable.KeyOf(p.Peer.Bytes), cmp).Take(Options.Alpha).ToList();
            if (batch.Count == 0)
            {
                break;
            }
            foreach (var p in batch)
            {
                queried.Add(p.Peer);
            }
            var responses = await Task.WhenAll(batch.Select(async p =>
            {
                try
                {
                    return await RpcAsync(p.Peer, new KadMessage { Type = KadMessageType.GetProviders, Key = multihash }, true, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is Libp2pException or IOException or OperationCanceledException or System.Net.Sockets.SocketException && !cancellationToken.IsCancellationRequested)
                {
                    _log.LogDebug("kad: GET_PROVIDERS to {Peer} failed: {Reason}", p.Peer, e.Message);
                    return null;
                }
            })).ConfigureAwait(false);
            foreach (var r in responses.OfType<KadMessage>())
            {
                foreach (var prov in Remember(r.ProviderPeers))
                {
                    found.TryAdd(prov.Peer, prov);
                }
                foreach (var c in Remember(r.CloserPeers))
                {
                    candidates.TryAdd(c.Peer, c);
                }
            }
        }
        return [.. found.Values.Take(max)];
    }

    /// <summary>Iterative lookup: the K closest responsive peers to <paramref name="key"/>.</summary>
    public async Task<IReadOnlyList<KadPeerInfo>> GetClosestPeersAsync(byte[] key, CancellationToken cancellationToken = default)
    {
        var target = KadRoutingTable.KeyOf(key);
        MarkLookedUp(key);
        var candidates = new Dictionary<PeerId, KadPeerInfo>();
        foreach (var p in RoutingTable.Nearest(key, Options.K))
        {
            candidates[p.Peer] = p;
        }
        var queried = new HashSet<PeerId>();
        var responded = new HashSet<PeerId>();
        byte[] Kd(PeerId p) => KadRoutingTable.KeyOf(p.Bytes);
        List<KadPeerInfo> Closest() => [.. candidates.Values.OrderBy(p => Kd(p.Peer), Comparer<byte[]>.Create((a, b) => KadRoutingTable.CompareDistance(target, a, b))).Take(Options.K)];
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = Closest().Where(p => !queried.Contains(p.Peer)).Take(Options.Alpha).ToList();
            if (batch.Count == 0)
            {
                break;
            }
            foreach (var p in batch)
            {
                queried.Add(p.Peer);
            }
            var results = await Task.WhenAll(batch.Select(async p =>
            {
                try
                {
                    return (p.Peer, Peers: await FindNodeAsync(p.Peer, key, cancellationToken).ConfigureAwait(false));
                }
                catch (Exception e) when (e is Libp2pException or IOException or OperationCanceledException or System.Net.Sockets.SocketException && !cancellationToken.IsCancellationRequested)
                {
                    _log.LogDebug("kad: FIND_NODE to {Peer} failed: {Reason}", p.Peer, e.Message);
                    RoutingTable.Remove(p.Peer); // unresponsive: make room for live peers
                    return (p.Peer, Peers: (IReadOnlyList<KadPeerInfo>?)null);
                }
            })).ConfigureAwait(false);
            foreach (var (peer, peers) in results)
            {
                if (peers is null)
                {
                    candidates.Remove(peer);
                    continue;
                }
                responded.Add(peer);
                foreach (var np in peers)
                {
                    if (!candidates.ContainsKey(np.Peer) && !queried.Contains(np.Peer))
                    {
                        candidates[np.Peer] = np;
                    }
                }
            }
        }
        return [.. Closest().Where(p => responded.Contains(p.Peer))];
    }

    /// <summary>Finds a peer's addresses: connected peers directly, otherwise via a lookup for its id.</summary>
    public async Task<KadPeerInfo?> FindPeerAsync(PeerId peer, CancellationToken cancellationToken = default)
    {
        if (_host.GetConnection(peer) is { } c)
        {
            return new KadPeerInfo(peer, _host.GetPeerInfo(peer)?.ListenAddresses ?? [c.RemoteAddress]);
        }
        if (RoutingTable.Find(peer) is { Addresses.Count: > 0 } known)
        {
            return known;
        }
        KadPeerInfo? found = null;
        var key = peer.ToByteArray();
        var target = KadRoutingTable.KeyOf(key);
        var seen = new HashSet<PeerId>();
        var frontier = new List<KadPeerInfo>(RoutingTable.Nearest(key, Options.K));
        while (found is null && frontier.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var next = new List<KadPeerInfo>();
            foreach (var q in frontier.Where(q => seen.Add(q.Peer)).Take(Options.Alpha * 2))
            {
                IReadOnlyList<KadPeerInfo> peers;
                try
                {
                    peers = await FindNodeAsync(q.Peer, key, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is Libp2pException or IOException or System.Net.Sockets.SocketException)
                {
                    continue;
                }
                found ??= peers.FirstOrDefault(p => p.Peer == peer && p.Addresses.Count > 0);
                next.AddRange(peers.Where(p => !seen.Contains(p.Peer)));
            }
            frontier = [.. next.DistinctBy(p => p.Peer).OrderBy(p => KadRoutingTable.KeyOf(p.Peer.Bytes), Comparer<byte[]>.Create((a, b) => KadRoutingTable.CompareDistance(target, a, b))).Take(Options.K)];
        }
        return found;
    }

    public void Dispose()
    {
        _host.PeerIdentified -= OnPeerIdentified;
        _stop.Cancel(); // not disposed: a late liveness check may still link to its token
        try
        {
            _maintenance.WaitAsync(TimeSpan.FromSeconds(5), _time).Wait();
        }
        catch (AggregateException)
        {
        }
        if (Options.ServerMode)
        {
            _host.RemoveStreamHandler(KadMessage.ProtocolId);
        }
    }
}
