using System.Buffers.Binary;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;

namespace Vivim.Libp2p.Protocols.Pubsub;

/// <summary>A message delivered to the application.</summary>
public sealed record GossipMessage(string Topic, byte[] Data, PeerId? From, ulong Seqno, byte[] Id, PeerId ReceivedFrom);

/// <summary>
/// GossipSub v1.1 router ("/meshsub/1.1.0", "/meshsub/1.0.0" accepted) with StrictSign. One outbound stream per peer
/// carries our RPCs; inbound streams are only read. All router state is guarded by one lock; sends are queued per peer.
/// </summary>
public sealed class GossipSub : IAsyncDisposable
{
    public const string ProtocolV11 = "/meshsub/1.1.0";
    public const string ProtocolV10 = "/meshsub/1.0.0";
    private static readonly byte[] SignPrefix = "libp2p-pubsub:"u8.ToArray();

    private readonly Libp2pHost _host;
    private readonly ILogger _log;
    private readonly object _gate = new();
    private readonly Dictionary<PeerId, PeerState> _peers = [];
    private readonly HashSet<string> _subscriptions = [];
    private readonly Dictionary<string, HashSet<PeerId>> _mesh = [];
    private readonly Dictionary<string, HashSet<PeerId>> _fanout = [];
    private readonly Dictionary<string, DateTime> _fanoutLastPublish = [];
    private readonly Dictionary<(PeerId, string), DateTime> _backoff = [];
    private readonly Dictionary<string, Func<GossipMessage, ValidationResult>> _validators = [];
    private readonly MessageCache _mcache;
    private readonly SeenCache _seen;
    private readonly Channel<GossipMessage> _messages = Channel.CreateUnbounded<GossipMessage>();
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _heartbeat;
    private ulong _seqno;
    private long _heartbeatTicks;

    public GossipSub(Libp2pHost host, GossipSubOptions? options = null)
    {
        _host = host;
        Options = options ?? new GossipSubOptions();
        if (!(Options.Dlo <= Options.D && Options.D <= Options.Dhi && Options.Dout < Options.Dlo && Options.HistoryGossip <= Options.HistoryLength))
        {
            throw new ArgumentException("GossipSub options need Dlo ≤ D ≤ Dhi, Dout < Dlo and HistoryGossip ≤ HistoryLength");
        }
        _log = host.Options.LoggerFactory?.CreateLogger("Vivim.Libp2p.GossipSub") ?? NullLogger.Instance;
        _mcache = new MessageCache(Options.HistoryLength, Options.HistoryGossip);
        _seen = new SeenCache(Options.SeenTtl);
        _seqno = (ulong)(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000);
        host.SetStreamHandler(ProtocolV11, HandleInboundAsync);
        host.SetStreamHandler(ProtocolV10, HandleInboundAsync);
        host.PeerIdentified += OnPeerIdentified;
        host.PeerDisconnected += OnPeerDisconnected;
        _heartbeat = Task.Run(HeartbeatLoopAsync);
    }

    public GossipSubOptions Options { get; }

    /// <summary>Messages delivered to the application (subscribed topics, validated, first copy only).</summary>
    public ChannelReader<GossipMessage> Messages => _messages.Reader;

    /// <summary>Raised for each delivered message (in addition to <see cref="Messages"/>), on the receiving thread.</summary>
    public event EventHandler<GossipMessage>? MessageReceived;

    // ------------------------------------------------------------------ public API
    public void Subscribe(string topic)
    {
        lock (_gate)
        {
            if (!_subscriptions.Add(topic))
            {
                return;
            }
            foreach (var p in _peers.Values)
            {
                p.Enqueue(SubRpc(true, topic), Options.MaxQueuedRpcsPerPeer);
            }
            // join: start from fanout peers, fill up to D
            var mesh = new HashSet<PeerId>();
            if (_fanout.Remove(topic, out var fanout))
            {
                _fanoutLastPublish.Remove(topic);
                foreach (var p in fanout.Where(p => Score(p) >= 0 && !InBackoff(p, topic)).Take(Options.D))
                {
                    mesh.Add(p);
                }
            }
            foreach (var p in Shuffle(Candidates(topic, mesh, p => Score(p) >= 0 && !InBackoff(p, topic))).Take(Options.D - mesh.Count))
            {
                mesh.Add(p);
            }
            _mesh[topic] = mesh;
            foreach (var p in mesh)
            {
                AddToMesh(topic, p, sendGraft: true);
            }
        }
    }

    public void Unsubscribe(string topic)
    {
        lock (_gate)
        {
            if (!_subscriptions.Remove(topic))
            {
                return;
            }
            if (_mesh.Remove(topic, out var mesh))
            {
                foreach (var p in mesh)
                {
                    if (_peers.TryGetValue(p, out var st))
                    {
                        st.LeaveMesh(topic);
                        var rpc = new PubsubRpc();
                        rpc.Prune.Add(MakePrune(topic, p, Options.UnsubscribeBackoff));
                        st.Enqueue(rpc, Options.MaxQueuedRpcsPerPeer);
                    }
                    SetBackoff(p, topic, Options.UnsubscribeBackoff);
                }
            }
            foreach (var p in _peers.Values)
            {
                p.Enqueue(SubRpc(false, topic), Options.MaxQueuedRpcsPerPeer);
            }
        }
    }

    /// <summary>Sets the validator of a topic (replacing any previous one). It runs for received messages only, before delivery and forwarding.</summary>
    public void AddValidator(string topic, Func<GossipMessage, ValidationResult> validator)
    {
        lock (_gate)
        {
            _validators[topic] = validator;
        }
    }

    public void RemoveValidator(string topic)
    {
        lock (_gate)
        {
            _validators.Remove(topic);
        }
    }

    /// <summary>Signs and publishes; returns the number of peers the message was sent to.</summary>
    public Task<int> PublishAsync(string topic, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var msg = new PubsubMessage { From = _host.PeerId.ToByteArray(), Data = data.ToArray(), Topic = topic };
        lock (_gate)
        {
            var seq = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(seq, ++_seqno);
            msg.Seqno = seq;
        }
        msg.Signature = _host.Identity.Sign(SignedBytes(msg));
        // Ed25519 keys are inlined in the identity peer id, so `key` is omitted
        var id = Options.MessageIdFn(msg);
        int sent;
        lock (_gate)
        {
            _seen.Add(id, DateTime.UtcNow);
            _mcache.Put(id, msg);
            IEnumerable<PeerId> targets;
            if (Options.FloodPublish)
            {
                targets = _peers.Values.Where(p => p.Topics.Contains(topic) && Score(p.Peer) >= Options.Score.PublishThreshold).Select(p => p.Peer).ToList();
            }
            else if (_mesh.TryGetValue(topic, out var mesh))
            {
                targets = [.. mesh];
            }
            else
            {
                if (!_fanout.TryGetValue(topic, out var fan))
                {
                    fan = [.. Shuffle(Candidates(topic, [], p => Score(p) >= Options.Score.PublishThreshold)).Take(Options.D)];
                    _fanout[topic] = fan;
                }
                _fanoutLastPublish[topic] = DateTime.UtcNow;
                targets = [.. fan];
            }
            var rpc = new PubsubRpc();
            rpc.Messages.Add(msg);
            var encoded = rpc.Encode();
            sent = 0;
            foreach (var p in targets)
            {
                if (_peers.TryGetValue(p, out var st) && st.EnqueueRaw(encoded, Options.MaxQueuedRpcsPerPeer))
                {
                    sent++;
                }
            }
        }
        if (Options.EmitSelf)
        {
            Deliver(new GossipMessage(topic, msg.Data, _host.PeerId, BinaryPrimitives.ReadUInt64BigEndian(msg.Seqno), id, _host.PeerId));
        }
        return Task.FromResult(sent);
    }

    // ------------------------------------------------------------------ inspection
    public IReadOnlyCollection<string> Topics { get { lock (_gate) { return [.. _subscriptions]; } } }

    public IReadOnlyList<PeerId> MeshPeers(string topic)
    {
        lock (_gate)
        {
            return _mesh.TryGetValue(topic, out var m) ? [.. m] : [];
        }
    }

    public IReadOnlyList<PeerId> FanoutPeers(string topic)
    {
        lock (_gate)
        {
            return _fanout.TryGetValue(topic, out var m) ? [.. m] : [];
        }
    }

    /// <summary>Peers with a pubsub stream, with the topics they announced.</summary>
    public IReadOnlyList<PeerId> TopicPeers(string topic)
    {
        lock (_gate)
        {
            return [.. _peers.Values.Where(p => p.Topics.Contains(topic)).Select(p => p.Peer)];
        }
    }

    public IReadOnlyList<PeerId> Peers { get { lock (_gate) { return [.. _peers.Keys]; } } }

    public double GetScore(PeerId peer)
    {
        lock (_gate)
        {
            return Score(peer);
        }
    }

    public bool IsBackedOff(PeerId peer, string topic)
    {
        lock (_gate)
        {
            return InBackoff(peer, topic);
        }
    }

    // ------------------------------------------------------------------ message ids and signatures
    /// <summary>js-libp2p's StrictSign default: PublicKey protobuf ‖ seqno.</summary>
    public static byte[] DefaultMessageId(PubsubMessage m)
    {
        var from = m.From ?? [];
        var seq = m.Seqno ?? [];
        ReadOnlySpan<byte> key = m.Key is { } k ? k : from.Length > 2 && from[0] == 0x00 ? from.AsSpan(2) : from;
        var id = new byte[key.Length + seq.Length];
        key.CopyTo(id);
        seq.CopyTo(id.AsSpan(key.Length));
        return id;
    }

    /// <summary>Alternative id: author peer-id bytes ‖ seqno (go-libp2p's default).</summary>
    public static byte[] FromSeqnoMessageId(PubsubMessage m) => [.. m.From ?? [], .. m.Seqno ?? []];

    internal static byte[] SignedBytes(PubsubMessage m) => [.. SignPrefix, .. m.EncodeForSigning()];

    /// <summary>StrictSign check: from, seqno (8 bytes) and signature present; key (if any) matches from; signature valid.</summary>
    public static bool VerifySignature(PubsubMessage m, out PeerId? author)
    {
        author = null;
        if (m.From is null || m.Seqno is not { Length: 8 } || m.Signature is null)
        {
            return false;
        }
        try
        {
            author = PeerId.FromBytes(m.From);
            var key = m.Key is not null ? Libp2pPublicKey.FromProtobuf(m.Key) : author.TryGetPublicKey();
            if (key is null || !author.Matches(key))
            {
                return false;
            }
            return key.Verify(SignedBytes(m), m.Signature);
        }
        catch (Libp2pException)
        {
            return false;
        }
    }

    // ------------------------------------------------------------------ peers and streams
    private void OnPeerIdentified(object? sender, PeerIdentifiedEventArgs e)
    {
        if (e.Info.Protocols.Contains(ProtocolV11) || e.Info.Protocols.Contains(ProtocolV10))
        {
            EnsurePeer(e.Info.PeerId);
        }
    }

    private void OnPeerDisconnected(object? sender, PeerEventArgs e)
    {
        if (_host.GetConnection(e.Peer) is null)
        {
            RemovePeer(e.Peer);
        }
    }

    private PeerState EnsurePeer(PeerId peer)
    {
        lock (_gate)
        {
            if (_peers.TryGetValue(peer, out var st))
            {
                return st;
            }
            st = new PeerState(peer, _host.GetConnection(peer)?.Direction == ConnectionDirection.Outbound);
            _peers[peer] = st;
            GetPeerScore(peer).Connected = true;
            if (_subscriptions.Count > 0)
            {
                var hello = new PubsubRpc();
                foreach (var t in _subscriptions)
                {
                    hello.Subscriptions.Add(new PubsubSubOpts(true, t));
                }
                st.Enqueue(hello, Options.MaxQueuedRpcsPerPeer);
            }
            st.Writer = Task.Run(() => WriteLoopAsync(st));
            return st;
        }
    }

    private void RemovePeer(PeerId peer)
    {
        lock (_gate)
        {
            if (!_peers.Remove(peer, out var st))
            {
                return;
            }
            st.Queue.Writer.TryComplete();
            foreach (var m in _mesh.Values)
            {
                m.Remove(peer);
            }
            foreach (var f in _fanout.Values)
            {
                f.Remove(peer);
            }
            if (_scores.TryGetValue(peer, out var sc))
            {
                sc.Connected = false;
                sc.DisconnectedAt = DateTime.UtcNow;
            }
            _log.LogDebug("gossipsub: peer {Peer} removed", peer);
        }
    }

    private async Task WriteLoopAsync(PeerState st)
    {
        Libp2pStream? stream = null;
        try
        {
            stream = await _host.NewStreamAsync(st.Peer, [ProtocolV11, ProtocolV10], _cts.Token).ConfigureAwait(false);
            var reader = st.Queue.Reader;
            var buf = new MemoryStream();
            while (await reader.WaitToReadAsync(_cts.Token).ConfigureAwait(false))
            {
                buf.SetLength(0);
                while (buf.Length < 256 * 1024 && reader.TryRead(out var rpc))
                {
                    Interlocked.Decrement(ref st.Queued);
                    var len = new byte[Varint.MaxLength];
                    var n = Varint.Write(len, (ulong)rpc.Length);
                    buf.Write(len, 0, n);
                    buf.Write(rpc);
                }
                await stream.WriteAsync(buf.GetBuffer().AsMemory(0, (int)buf.Length), _cts.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is Libp2pException or IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            _log.LogDebug("gossipsub: stream to {Peer} ended: {Reason}", st.Peer, e.Message);
        }
        finally
        {
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
            lock (_gate)
            {
                if (_peers.TryGetValue(st.Peer, out var cur) && cur == st)
                {
                    RemovePeer(st.Peer);
                }
            }
        }
    }

    private async Task HandleInboundAsync(Libp2pStream stream, CancellationToken ct)
    {
        var peer = stream.RemotePeer;
        EnsurePeer(peer);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _cts.Token);
        while (true)
        {
            var bytes = await Varint.ReadLengthPrefixedAsync(stream, Options.Limits.MaxRpcLength, linked.Token).ConfigureAwait(false);
            if (bytes is null)
            {
                return;
            }
            var rpc = PubsubRpc.Decode(bytes, Options.Limits);
            HandleRpc(peer, rpc);
        }
    }

    // ------------------------------------------------------------------ RPC handling
    /// <summary>Processes one decoded RPC from <paramref name="from"/> (exposed for tests).</summary>
    internal void HandleRpc(PeerId from, PubsubRpc rpc)
    {
        PeerState? st;
        lock (_gate)
        {
            if (!_peers.TryGetValue(from, out st) || Score(from) < Options.Score.GraylistThreshold)
            {
                return;
            }
            foreach (var s in rpc.Subscriptions)
            {
                if (s.Subscribe)
                {
                    // a new subscriber of a topic whose mesh is below D is grafted at once, not at the next heartbeat
                    if (st.Topics.Add(s.Topic) && _mesh.TryGetValue(s.Topic, out var m) && m.Count < Options.D && !m.Contains(from) &&
                        !InBackoff(from, s.Topic) && Score(from) >= 0)
                    {
                        m.Add(from);
                        AddToMesh(s.Topic, from, sendGraft: true);
                    }
                }
                else
                {
                    st.Topics.Remove(s.Topic);
                    if (_mesh.TryGetValue(s.Topic, out var m) && m.Remove(from))
                    {
                        st.LeaveMesh(s.Topic);
                    }
                    if (_fanout.TryGetValue(s.Topic, out var f))
                    {
                        f.Remove(from);
                    }
                }
            }
        }
        foreach (var m in rpc.Messages)
        {
            HandleMessage(from, m);
        }
        if (rpc.HasControl)
        {
            lock (_gate)
            {
                HandleControl(st, rpc);
            }
        }
    }

    private void HandleMessage(PeerId from, PubsubMessage m)
    {
        byte[] id;
        try
        {
            id = Options.MessageIdFn(m);
        }
        catch (Exception e) when (e is Libp2pException or ArgumentException)
        {
            return;
        }
        Func<GossipMessage, ValidationResult>? validator;
        lock (_gate)
        {
            var now = DateTime.UtcNow;
            if (_seen.Contains(id, now))
            {
                CountDuplicate(from, m.Topic);
                return;
            }
            if (!_subscriptions.Contains(m.Topic) && !_mesh.ContainsKey(m.Topic))
            {
                return; // not our topic: neither delivered nor forwarded
            }
            _seen.Add(id, now);
            _validators.TryGetValue(m.Topic, out validator);
        }
        if (!VerifySignature(m, out var author) || author == _host.PeerId)
        {
            lock (_gate)
            {
                if (author != _host.PeerId)
                {
                    CountInvalid(from, m.Topic);
                }
            }
            return;
        }
        var seqno = BinaryPrimitives.ReadUInt64BigEndian(m.Seqno);
        var gm = new GossipMessage(m.Topic, m.Data, author, seqno, id, from);
        var result = ValidationResult.Accept;
        if (validator is not null)
        {
            try
            {
                result = validator(gm);
            }
            catch (Exception e)
            {
                _log.LogWarning(e, "gossipsub: validator for {Topic} threw; message ignored", m.Topic);
                result = ValidationResult.Ignore;
            }
        }
        lock (_gate)
        {
            if (result == ValidationResult.Reject)
            {
                CountInvalid(from, m.Topic);
                return;
            }
            if (result == ValidationResult.Ignore)
            {
                return;
            }
            CountFirstDelivery(from, m.Topic);
            _mcache.Put(id, m);
            if (_mesh.TryGetValue(m.Topic, out var mesh))
            {
                var rpc = new PubsubRpc();
                rpc.Messages.Add(m);
                var encoded = rpc.Encode();
                foreach (var p in mesh)
                {
                    if (p != from && p != author && _peers.TryGetValue(p, out var st))
                    {
                        st.EnqueueRaw(encoded, Options.MaxQueuedRpcsPerPeer);
                    }
                }
            }
        }
        if (_subscriptions.Contains(m.Topic))
        {
            Deliver(gm);
        }
    }

    private void Deliver(GossipMessage gm)
    {
        _messages.Writer.TryWrite(gm);
        try
        {
            MessageReceived?.Invoke(this, gm);
        }
        catch (Exception e)
        {
            _log.LogWarning(e, "gossipsub: MessageReceived handler threw");
        }
    }

    private void HandleControl(PeerState st, PubsubRpc rpc)
    {
        var peer = st.Peer;
        var score = Score(peer);
        var reply = new PubsubRpc();
        // IHAVE -> IWANT for unseen ids
        if (score >= Options.Score.GossipThreshold && rpc.IHave.Count > 0)
        {
            var now = DateTime.UtcNow;
            foreach (var ih in rpc.IHave)
            {
                if (++st.IHaveThisHeartbeat > Options.MaxIHaveMessages)
                {
                    break;
                }
                if (!_mesh.ContainsKey(ih.Topic))
                {
                    continue;
                }
                foreach (var id in ih.MessageIds)
                {
                    if (st.AskedThisHeartbeat >= Options.MaxIHaveLength)
                    {
                        break;
                    }
                    if (!_seen.Contains(id, now))
                    {
                        reply.IWant.Add(id);
                        st.AskedThisHeartbeat++;
                    }
                }
            }
        }
        // IWANT -> messages from the cache
        if (score >= Options.Score.GossipThreshold)
        {
            foreach (var id in rpc.IWant)
            {
                if (_mcache.TryGetForPeer(id, peer, Options.GossipRetransmission, out var m))
                {
                    reply.Messages.Add(m);
                }
            }
        }
        foreach (var g in rpc.Graft)
        {
            if (!_subscriptions.Contains(g.Topic) || !_mesh.TryGetValue(g.Topic, out var mesh))
            {
                continue; // v1.1: ignore GRAFTs for topics we do not join
            }
            if (mesh.Contains(peer))
            {
                continue;
            }
            if (InBackoff(peer, g.Topic))
            {
                GetPeerScore(peer).BehaviourPenalty += 1;
                reply.Prune.Add(MakePrune(g.Topic, peer, Options.PruneBackoff, px: false));
                SetBackoff(peer, g.Topic, Options.PruneBackoff);
                continue;
            }
            if (score < 0 || (mesh.Count >= Options.Dhi && !st.Outbound))
            {
                reply.Prune.Add(MakePrune(g.Topic, peer, Options.PruneBackoff, px: score >= 0));
                SetBackoff(peer, g.Topic, Options.PruneBackoff);
                continue;
            }
            mesh.Add(peer);
            AddToMesh(g.Topic, peer, sendGraft: false);
        }
        foreach (var p in rpc.Prune)
        {
            if (_mesh.TryGetValue(p.Topic, out var mesh) && mesh.Remove(peer))
            {
                st.LeaveMesh(p.Topic);
            }
            SetBackoff(peer, p.Topic, p.BackoffSeconds is { } b ? TimeSpan.FromSeconds(Math.Min(b, 86_400)) : Options.PruneBackoff);
            // peer exchange: accepting PX is optional and not done (no signed peer records here)
        }
        if (!reply.IsEmpty)
        {
            st.Enqueue(reply, Options.MaxQueuedRpcsPerPeer);
        }
    }

    private PubsubPrune MakePrune(string topic, PeerId to, TimeSpan backoff, bool px = true)
    {
        var peers = new List<byte[]>();
        if (px && Options.PrunePeers > 0)
        {
            foreach (var p in Shuffle(Candidates(topic, [to], q => Score(q) >= 0)).Take(Options.PrunePeers))
            {
                peers.Add(p.ToByteArray());
            }
        }
        return new PubsubPrune(topic, peers, (ulong)Math.Ceiling(backoff.TotalSeconds));
    }

    private void AddToMesh(string topic, PeerId peer, bool sendGraft)
    {
        if (!_peers.TryGetValue(peer, out var st))
        {
            return;
        }
        st.JoinMesh(topic, DateTime.UtcNow);
        if (sendGraft)
        {
            var rpc = new PubsubRpc();
            rpc.Graft.Add(new PubsubGraft(topic));
            st.Enqueue(rpc, Options.MaxQueuedRpcsPerPeer);
        }
    }

    private IEnumerable<PeerId> Candidates(string topic, HashSet<PeerId> exclude, Func<PeerId, bool> filter) =>
        _peers.Values.Where(p => p.Topics.Contains(topic) && !exclude.Contains(p.Peer) && filter(p.Peer)).Select(p => p.Peer).ToList();

    private static List<T> Shuffle<T>(IEnumerable<T> items)
    {
        var list = items.ToList();
        Random.Shared.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list));
        return list;
    }

    private static PubsubRpc SubRpc(bool subscribe, string topic)
    {
        var rpc = new PubsubRpc();
        rpc.Subscriptions.Add(new PubsubSubOpts(subscribe, topic));
        return rpc;
    }

    private bool InBackoff(PeerId peer, string topic) => _backoff.TryGetValue((peer, topic), out var until) && until > DateTime.UtcNow;

    private void SetBackoff(PeerId peer, string topic, TimeSpan d)
    {
        var until = DateTime.UtcNow + d;
        if (!_backoff.TryGetValue((peer, topic), out var cur) || cur < until)
        {
            _backoff[(peer, topic)] = until;
        }
    }

    // ------------------------------------------------------------------ heartbeat
    private async Task HeartbeatLoopAsync()
    {
        try
        {
            await Task.Delay(Options.HeartbeatInitialDelay, _cts.Token).ConfigureAwait(false);
            using var timer = new PeriodicTimer(Options.HeartbeatInterval);
            do
            {
                try
                {
                    Heartbeat();
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    _log.LogError(e, "gossipsub heartbeat failed");
                }
            }
            while (await timer.WaitForNextTickAsync(_cts.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>One heartbeat: mesh maintenance, fanout expiry, gossip emission, score decay, cache shifts.</summary>
    internal void Heartbeat()
    {
        lock (_gate)
        {
            var now = DateTime.UtcNow;
            _heartbeatTicks++;
            var grafts = new Dictionary<PeerId, List<string>>();
            var prunes = new Dictionary<PeerId, List<string>>();
            foreach (var (topic, mesh) in _mesh)
            {
                // drop negative-score peers and peers that left the topic
                foreach (var p in mesh.ToList())
                {
                    if (!_peers.TryGetValue(p, out var pst) || !pst.Topics.Contains(topic))
                    {
                        mesh.Remove(p);
                        continue;
                    }
                    if (Score(p) < 0)
                    {
                        mesh.Remove(p);
                        pst.LeaveMesh(topic);
                        Add(prunes, p, topic);
                        SetBackoff(p, topic, Options.PruneBackoff);
                    }
                }
                if (mesh.Count < Options.Dlo)
                {
                    foreach (var p in Shuffle(Candidates(topic, mesh, p => !InBackoff(p, topic) && Score(p) >= 0)).Take(Options.D - mesh.Count))
                    {
                        mesh.Add(p);
                        AddToMesh(topic, p, sendGraft: false);
                        Add(grafts, p, topic);
                    }
                }
                if (mesh.Count > Options.Dhi)
                {
                    var byScore = Shuffle(mesh).OrderByDescending(Score).ToList();
                    var keep = byScore.Take(Options.Dscore).ToList();
                    keep.AddRange(Shuffle(byScore.Skip(Options.Dscore)).Take(Options.D - keep.Count));
                    // keep at least Dout outbound peers
                    var outbound = keep.Count(p => _peers[p].Outbound);
                    if (outbound < Options.Dout)
                    {
                        foreach (var p in byScore.Where(p => !keep.Contains(p) && _peers[p].Outbound).Take(Options.Dout - outbound))
                        {
                            var victim = keep.LastOrDefault(q => !_peers[q].Outbound);
                            if (victim is not null)
                            {
                                keep.Remove(victim);
                            }
                            keep.Add(p);
                        }
                    }
                    foreach (var p in mesh.Where(p => !keep.Contains(p)).ToList())
                    {
                        mesh.Remove(p);
                        _peers[p].LeaveMesh(topic);
                        Add(prunes, p, topic);
                        SetBackoff(p, topic, Options.PruneBackoff);
                    }
                }
                else if (mesh.Count >= Options.Dlo)
                {
                    var outbound = mesh.Count(p => _peers[p].Outbound);
                    if (outbound < Options.Dout)
                    {
                        foreach (var p in Shuffle(Candidates(topic, mesh, p => _peers[p].Outbound && !InBackoff(p, topic) && Score(p) >= 0)).Take(Options.Dout - outbound))
                        {
                            mesh.Add(p);
                            AddToMesh(topic, p, sendGraft: false);
                            Add(grafts, p, topic);
                        }
                    }
                }
            }
            // fanout
            foreach (var topic in _fanout.Keys.ToList())
            {
                if (_fanoutLastPublish.TryGetValue(topic, out var last) && now - last > Options.FanoutTtl)
                {
                    _fanout.Remove(topic);
                    _fanoutLastPublish.Remove(topic);
                    continue;
                }
                var fan = _fanout[topic];
                fan.RemoveWhere(p => !_peers.TryGetValue(p, out var pst) || !pst.Topics.Contains(topic) || Score(p) < Options.Score.PublishThreshold);
                if (fan.Count < Options.D)
                {
                    foreach (var p in Shuffle(Candidates(topic, fan, p => Score(p) >= Options.Score.PublishThreshold)).Take(Options.D - fan.Count))
                    {
                        fan.Add(p);
                    }
                }
            }
            // gossip (IHAVE) to non-mesh peers
            var ihave = new Dictionary<PeerId, List<PubsubIHave>>();
            foreach (var (topic, peers) in _mesh.Concat(_fanout))
            {
                var ids = _mcache.GossipIds(topic);
                if (ids.Count == 0)
                {
                    continue;
                }
                var candidates = Shuffle(Candidates(topic, peers, p => Score(p) >= Options.Score.GossipThreshold));
                var n = Math.Max(Options.Dlazy, (int)(Options.GossipFactor * candidates.Count));
                foreach (var p in candidates.Take(n))
                {
                    var chosen = ids.Count > Options.MaxIHaveLength ? Shuffle(ids).Take(Options.MaxIHaveLength).ToList() : ids;
                    if (!ihave.TryGetValue(p, out var l))
                    {
                        ihave[p] = l = [];
                    }
                    l.Add(new PubsubIHave(topic, chosen));
                }
            }
            foreach (var p in grafts.Keys.Union(prunes.Keys).Union(ihave.Keys))
            {
                if (!_peers.TryGetValue(p, out var pst))
                {
                    continue;
                }
                var rpc = new PubsubRpc();
                foreach (var t in grafts.GetValueOrDefault(p) ?? [])
                {
                    rpc.Graft.Add(new PubsubGraft(t));
                }
                foreach (var t in prunes.GetValueOrDefault(p) ?? [])
                {
                    rpc.Prune.Add(MakePrune(t, p, Options.PruneBackoff));
                }
                rpc.IHave.AddRange(ihave.GetValueOrDefault(p) ?? []);
                pst.Enqueue(rpc, Options.MaxQueuedRpcsPerPeer);
            }
            foreach (var pst in _peers.Values)
            {
                pst.IHaveThisHeartbeat = 0;
                pst.AskedThisHeartbeat = 0;
            }
            DecayScores(now);
            foreach (var k in _backoff.Where(kv => kv.Value < now - Options.HeartbeatInterval).Select(kv => kv.Key).ToList())
            {
                _backoff.Remove(k);
            }
            _mcache.Shift();
            _seen.Sweep(now);
        }
    }

    private static void Add(Dictionary<PeerId, List<string>> d, PeerId p, string t)
    {
        if (!d.TryGetValue(p, out var l))
        {
            d[p] = l = [];
        }
        l.Add(t);
    }

    // ------------------------------------------------------------------ scoring (P1–P4, P7)
    private readonly Dictionary<PeerId, PeerScore> _scores = [];

    private PeerScore GetPeerScore(PeerId p)
    {
        if (!_scores.TryGetValue(p, out var s))
        {
            _scores[p] = s = new PeerScore();
        }
        return s;
    }

    private TopicScoreParams TopicParams(string topic) => Options.Score.Topics.GetValueOrDefault(topic) ?? Options.Score.DefaultTopic;

    private void CountFirstDelivery(PeerId p, string topic)
    {
        var tp = TopicParams(topic);
        var ts = GetPeerScore(p).Topic(topic);
        ts.FirstDeliveries = Math.Min(tp.FirstMessageDeliveriesCap, ts.FirstDeliveries + 1);
        if (_mesh.TryGetValue(topic, out var m) && m.Contains(p))
        {
            ts.MeshDeliveries = Math.Min(tp.MeshMessageDeliveriesCap, ts.MeshDeliveries + 1);
        }
    }

    private void CountDuplicate(PeerId p, string topic)
    {
        if (_mesh.TryGetValue(topic, out var m) && m.Contains(p))
        {
            var tp = TopicParams(topic);
            var ts = GetPeerScore(p).Topic(topic);
            ts.MeshDeliveries = Math.Min(tp.MeshMessageDeliveriesCap, ts.MeshDeliveries + 1);
        }
    }

    private void CountInvalid(PeerId p, string topic) => GetPeerScore(p).Topic(topic).InvalidDeliveries += 1;

    private double Score(PeerId p)
    {
        if (!_scores.TryGetValue(p, out var s))
        {
            return 0;
        }
        var o = Options.Score;
        double topicSum = 0;
        var now = DateTime.UtcNow;
        foreach (var (topic, ts) in s.Topics)
        {
            var tp = TopicParams(topic);
            double t = 0;
            if (_peers.TryGetValue(p, out var st) && st.MeshSince.TryGetValue(topic, out var since))
            {
                var inMesh = now - since;
                t += tp.TimeInMeshWeight * Math.Min(tp.TimeInMeshCap, inMesh / tp.TimeInMeshQuantum);
                if (inMesh >= tp.MeshMessageDeliveriesActivation && ts.MeshDeliveries < tp.MeshMessageDeliveriesThreshold)
                {
                    var deficit = tp.MeshMessageDeliveriesThreshold - ts.MeshDeliveries;
                    t += tp.MeshMessageDeliveriesWeight * deficit * deficit; // weight ≤ 0
                }
            }
            t += tp.FirstMessageDeliveriesWeight * ts.FirstDeliveries;
            t += tp.InvalidMessageDeliveriesWeight * ts.InvalidDeliveries * ts.InvalidDeliveries;
            topicSum += tp.TopicWeight * t;
        }
        if (o.TopicScoreCap > 0)
        {
            topicSum = Math.Min(topicSum, o.TopicScoreCap);
        }
        var excess = s.BehaviourPenalty - o.BehaviourPenaltyThreshold;
        var score = topicSum;
        if (excess > 0)
        {
            score += o.BehaviourPenaltyWeight * excess * excess;
        }
        return score;
    }

    private void DecayScores(DateTime now)
    {
        var o = Options.Score;
        foreach (var (peer, s) in _scores.ToList())
        {
            if (!s.Connected && now - s.DisconnectedAt > TimeSpan.FromMinutes(10))
            {
                _scores.Remove(peer);
                continue;
            }
            foreach (var (topic, ts) in s.Topics)
            {
                var tp = TopicParams(topic);
                ts.FirstDeliveries = Decay(ts.FirstDeliveries * tp.FirstMessageDeliveriesDecay, o.DecayToZero);
                ts.MeshDeliveries = Decay(ts.MeshDeliveries * tp.MeshMessageDeliveriesDecay, o.DecayToZero);
                ts.InvalidDeliveries = Decay(ts.InvalidDeliveries * tp.InvalidMessageDeliveriesDecay, o.DecayToZero);
            }
            s.BehaviourPenalty = Decay(s.BehaviourPenalty * o.BehaviourPenaltyDecay, o.DecayToZero);
        }
    }

    private static double Decay(double v, double zero) => v < zero ? 0 : v;

    /// <summary>Adds to a peer's behaviour penalty (P7), e.g. from an application policy.</summary>
    public void AddBehaviourPenalty(PeerId peer, double amount)
    {
        lock (_gate)
        {
            GetPeerScore(peer).BehaviourPenalty += amount;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _host.PeerIdentified -= OnPeerIdentified;
        _host.PeerDisconnected -= OnPeerDisconnected;
        _host.RemoveStreamHandler(ProtocolV11);
        _host.RemoveStreamHandler(ProtocolV10);
        await _cts.CancelAsync().ConfigureAwait(false);
        List<Task> writers;
        lock (_gate)
        {
            writers = [.. _peers.Values.Select(p => p.Writer).OfType<Task>()];
            foreach (var p in _peers.Values)
            {
                p.Queue.Writer.TryComplete();
            }
        }
        try
        {
            await Task.WhenAll([_heartbeat, .. writers]).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        _messages.Writer.TryComplete();
        _cts.Dispose();
    }

    private sealed class PeerState(PeerId peer, bool outbound)
    {
        public PeerId Peer { get; } = peer;
        public bool Outbound { get; } = outbound;
        public HashSet<string> Topics { get; } = [];
        public Dictionary<string, DateTime> MeshSince { get; } = [];
        public Channel<byte[]> Queue { get; } = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
        public Task? Writer { get; set; }
        public int Queued;
        public int IHaveThisHeartbeat;
        public int AskedThisHeartbeat;

        public void JoinMesh(string topic, DateTime now) => MeshSince.TryAdd(topic, now);

        public void LeaveMesh(string topic) => MeshSince.Remove(topic);

        public bool Enqueue(PubsubRpc rpc, int max) => EnqueueRaw(rpc.Encode(), max);

        public bool EnqueueRaw(byte[] encoded, int max)
        {
            if (Interlocked.Increment(ref Queued) > max)
            {
                Interlocked.Decrement(ref Queued);
                return false;
            }
            if (!Queue.Writer.TryWrite(encoded))
            {
                Interlocked.Decrement(ref Queued);
                return false;
            }
            return true;
        }
    }

    private sealed class PeerScore
    {
        public Dictionary<string, TopicScore> Topics { get; } = [];
        public double BehaviourPenalty { get; set; }
        public bool Connected { get; set; }
        public DateTime DisconnectedAt { get; set; }

        public TopicScore Topic(string t)
        {
            if (!Topics.TryGetValue(t, out var s))
            {
                Topics[t] = s = new TopicScore();
            }
            return s;
        }
    }

    private sealed class TopicScore
    {
        public double FirstDeliveries { get; set; }
        public double MeshDeliveries { get; set; }
        public double InvalidDeliveries { get; set; }
    }
}
