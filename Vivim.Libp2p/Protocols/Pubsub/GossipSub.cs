using System.Buffers.Binary;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;

namespace Vivim.Libp2p.Protocols.Pubsub;

/// <summary>
/// GossipSub v1.1 router ("/meshsub/1.1.0", "/meshsub/1.0.0" accepted) with StrictSign. One outbound stream per peer
/// carries our RPCs; inbound streams are only read. All router state is guarded by one lock; sends are queued per peer.
/// </summary>
public sealed partial class GossipSub : IAsyncDisposable
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
    private readonly List<(string Prefix, Func<GossipMessage, ValidationResult> Validator)> _prefixValidators = [];
    private readonly MessageCache _mcache;
    private readonly SeenCache _seen;
    private readonly Channel<GossipMessage> _messages = Channel.CreateUnbounded<GossipMessage>();
    private readonly CancellationTokenSource _cts = new();
    private readonly TimeProvider _time;
    private readonly ITimer _heartbeat;
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
        _time = host.Time;
        _seqno = (ulong)(_time.GetUtcNow().ToUnixTimeMilliseconds() * 1_000_000);
        host.SetStreamHandler(ProtocolV11, HandleInboundAsync);
        host.SetStreamHandler(ProtocolV10, HandleInboundAsync);
        host.PeerIdentified += OnPeerIdentified;
        host.PeerDisconnected += OnPeerDisconnected;
        _heartbeat = StartHeartbeat();
    }

    public GossipSubOptions Options { get; }

    /// <summary>Now on the host's clock; every router timestamp (seen cache, backoff, mesh time, fanout) comes from it.</summary>
    private DateTime Now => _time.GetUtcNow().UtcDateTime;

    /// <summary>Messages delivered to the application (subscribed topics, validated, first copy only).</summary>
    public ChannelReader<GossipMessage> Messages => _messages.Reader;

    /// <summary>Raised for each delivered message (in addition to <see cref="Messages"/>), on the receiving thread.</summary>
    public event EventHandler<GossipMessage>? MessageReceived;

    /// <summary>
    /// Raised when a remote peer joins or leaves a topic (subscribes, unsubscribes, or disconnects), whether or not we
    /// joined it, outside the router's lock on the receiving thread: handlers should only take note and return.
    /// </summary>
    public event EventHandler<TopicPeerChangedEventArgs>? TopicPeerChanged;

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

    /// <summary>
    /// Sets the validator of every topic that starts with <paramref name="topicPrefix"/> (replacing one for the same
    /// prefix). A topic's own validator (<see cref="AddValidator"/>) wins; among prefixes the longest matching one runs.
    /// </summary>
    public void AddPrefixValidator(string topicPrefix, Func<GossipMessage, ValidationResult> validator)
    {
        ArgumentException.ThrowIfNullOrEmpty(topicPrefix);
        ArgumentNullException.ThrowIfNull(validator);
        lock (_gate)
        {
            _prefixValidators.RemoveAll(v => v.Prefix == topicPrefix);
            _prefixValidators.Add((topicPrefix, validator));
        }
    }

    public void RemovePrefixValidator(string topicPrefix)
    {
        lock (_gate)
        {
            _prefixValidators.RemoveAll(v => v.Prefix == topicPrefix);
        }
    }

    /// <summary>The validator for a topic (under the lock): its own, else the longest matching prefix's, else none.</summary>
    private Func<GossipMessage, ValidationResult>? ValidatorFor(string topic)
    {
        if (_validators.TryGetValue(topic, out var own))
        {
            return own;
        }
        Func<GossipMessage, ValidationResult>? best = null;
        var bestLength = -1;
        foreach (var (prefix, validator) in _prefixValidators)
        {
            if (prefix.Length > bestLength && topic.StartsWith(prefix, StringComparison.Ordinal))
            {
                best = validator;
                bestLength = prefix.Length;
            }
        }
        return best;
    }

    private void RaiseTopicPeerChanged(List<TopicPeerChangedEventArgs>? changes)
    {
        if (changes is null)
        {
            return;
        }
        foreach (var change in changes)
        {
            try
            {
                TopicPeerChanged?.Invoke(this, change);
            }
            catch (Exception e)
            {
                _log.LogWarning(e, "gossipsub: TopicPeerChanged handler threw");
            }
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
            _seen.Add(id, Now);
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
                _fanoutLastPublish[topic] = Now;
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


    public async ValueTask DisposeAsync()
    {
        _host.PeerIdentified -= OnPeerIdentified;
        _host.PeerDisconnected -= OnPeerDisconnected;
        _host.RemoveStreamHandler(ProtocolV11);
        _host.RemoveStreamHandler(ProtocolV10);
        await _cts.CancelAsync().ConfigureAwait(false);
        await _heartbeat.DisposeAsync().ConfigureAwait(false);
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
            await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(5), _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        _messages.Writer.TryComplete();
        _cts.Dispose();
    }
}
