using System.Buffers.Binary;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;

namespace Vivim.Libp2p.Protocols.Pubsub;

// Peers and their streams, reading and writing RPCs, message validation and delivery, control messages (IHAVE/IWANT/GRAFT/PRUNE).
public sealed partial class GossipSub
{
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

    private void RemovePeer(PeerId peer, PeerState? expected = null)
    {
        List<TopicPeerChangedEventArgs>? changes = null;
        lock (_gate)
        {
            if (!_peers.TryGetValue(peer, out var st) || (expected is not null && st != expected))
            {
                return;
            }
            _peers.Remove(peer);
            st.Queue.Writer.TryComplete();
            foreach (var t in st.Topics)
            {
                (changes ??= []).Add(new TopicPeerChangedEventArgs(peer, t, subscribed: false));
            }
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
                sc.DisconnectedAt = Now;
            }
            _log.LogDebug("gossipsub: peer {Peer} removed", peer);
        }
        RaiseTopicPeerChanged(changes);
    }

    private async Task WriteLoopAsync(PeerState st)
    {
        Libp2pStream? stream = null;
        try
        {
            stream = await _host.NewStreamAsync(st.Peer, [ProtocolV11, ProtocolV10], _cts.Token).ConfigureAwait(false);
            lock (st.WriteGate)
            {
                st.Stream = stream;
            }
            var reader = st.Queue.Reader;
            var buf = new MemoryStream();
            while (await reader.WaitToReadAsync(_cts.Token).ConfigureAwait(false))
            {
                buf.SetLength(0);
                lock (st.WriteGate)
                {
                    st.LoopWriting = true;
                    while (buf.Length < 256 * 1024 && reader.TryRead(out var rpc))
                    {
                        st.Queued--;
                        var len = new byte[Varint.MaxLength];
                        var n = Varint.Write(len, (ulong)rpc.Length);
                        buf.Write(len, 0, n);
                        buf.Write(rpc);
                    }
                }
                if (buf.Length > 0)
                {
                    await stream.WriteAsync(buf.GetBuffer().AsMemory(0, (int)buf.Length), _cts.Token).ConfigureAwait(false);
                }
                lock (st.WriteGate)
                {
                    // Everything taken so far is in the muxer: later RPCs may go there directly, in order.
                    st.LoopWriting = st.Queued > 0;
                }
            }
        }
        catch (Exception e) when (e is Libp2pException or IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            _log.LogDebug("gossipsub: stream to {Peer} ended: {Reason}", st.Peer, e.Message);
        }
        finally
        {
            lock (st.WriteGate)
            {
                st.Stream = null;
            }
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
            RemovePeer(st.Peer, expected: st);
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
        List<TopicPeerChangedEventArgs>? changes = null;
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
                    var added = st.Topics.Add(s.Topic);
                    if (added)
                    {
                        (changes ??= []).Add(new TopicPeerChangedEventArgs(from, s.Topic, subscribed: true));
                    }
                    // a new subscriber of a topic whose mesh is below D is grafted at once, not at the next heartbeat
                    if (added && _mesh.TryGetValue(s.Topic, out var m) && m.Count < Options.D && !m.Contains(from) &&
                        !InBackoff(from, s.Topic) && Score(from) >= 0)
                    {
                        m.Add(from);
                        AddToMesh(s.Topic, from, sendGraft: true);
                    }
                }
                else
                {
                    if (st.Topics.Remove(s.Topic))
                    {
                        (changes ??= []).Add(new TopicPeerChangedEventArgs(from, s.Topic, subscribed: false));
                    }
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
        RaiseTopicPeerChanged(changes);
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
            var now = Now;
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
            validator = ValidatorFor(m.Topic);
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
            var now = Now;
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

    private sealed class PeerState(PeerId peer, bool outbound)
    {
        public PeerId Peer { get; } = peer;
        public bool Outbound { get; } = outbound;
        public HashSet<string> Topics { get; } = [];
        public Dictionary<string, DateTime> MeshSince { get; } = [];
        public Channel<byte[]> Queue { get; } = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
        public Task? Writer { get; set; }

        /// <summary>Orders the direct path against the write loop: <see cref="Stream"/>, <see cref="LoopWriting"/>, <see cref="Queued"/>.</summary>
        public object WriteGate { get; } = new();

        /// <summary>The outbound stream once the write loop opened it.</summary>
        public Libp2pStream? Stream;

        /// <summary>The write loop holds RPCs it has not yet handed to the muxer.</summary>
        public bool LoopWriting;
        public int Queued;
        public int IHaveThisHeartbeat;
        public int AskedThisHeartbeat;

        public void JoinMesh(string topic, DateTime now) => MeshSince.TryAdd(topic, now);

        public void LeaveMesh(string topic) => MeshSince.Remove(topic);

        public bool Enqueue(PubsubRpc rpc, int max) => EnqueueRaw(rpc.Encode(), max);

        /// <summary>
        /// Hands the RPC to the muxer at once when nothing is queued before it (an idle peer: a publish costs no hop to
        /// this peer's write loop), else queues it for the loop; false when the queue is full.
        /// </summary>
        public bool EnqueueRaw(byte[] encoded, int max)
        {
            lock (WriteGate)
            {
                if (Stream is { } stream && !LoopWriting && Queued == 0)
                {
                    Span<byte> prefix = stackalloc byte[Varint.MaxLength];
                    var n = Varint.Write(prefix, (ulong)encoded.Length);
                    if (stream.TryWrite(prefix[..n], encoded))
                    {
                        return true;
                    }
                }
                if (Queued >= max || !Queue.Writer.TryWrite(encoded))
                {
                    return false;
                }
                Queued++;
                return true;
            }
        }
    }
}
