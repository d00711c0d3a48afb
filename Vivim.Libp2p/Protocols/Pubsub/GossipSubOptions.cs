namespace Vivim.Libp2p.Protocols.Pubsub;

public enum ValidationResult
{
    Accept,
    /// <summary>Invalid: not delivered, not forwarded, counts against the sender (P4).</summary>
    Reject,
    /// <summary>Dropped silently: not delivered, not forwarded, no penalty.</summary>
    Ignore,
}

/// <summary>Per-topic score parameters (P1–P4). Topics without an entry in <see cref="PeerScoreOptions.Topics"/> use <see cref="PeerScoreOptions.DefaultTopic"/>.</summary>
public sealed class TopicScoreParams
{
    public double TopicWeight { get; init; } = 1;
    /// <summary>P1: time in mesh, counted in units of <see cref="TimeInMeshQuantum"/>, capped.</summary>
    public double TimeInMeshWeight { get; init; } = 0.01;
    public TimeSpan TimeInMeshQuantum { get; init; } = TimeSpan.FromSeconds(1);
    public double TimeInMeshCap { get; init; } = 300;
    /// <summary>P2: first deliveries (decaying counter, capped).</summary>
    public double FirstMessageDeliveriesWeight { get; init; } = 1;
    public double FirstMessageDeliveriesDecay { get; init; } = 0.5;
    public double FirstMessageDeliveriesCap { get; init; } = 100;
    /// <summary>P3: squared mesh-delivery deficit below the threshold once the peer has been in the mesh for the activation time. Weight 0 (off) by default, as deliveries depend on the traffic rate.</summary>
    public double MeshMessageDeliveriesWeight { get; init; }
    public double MeshMessageDeliveriesDecay { get; init; } = 0.5;
    public double MeshMessageDeliveriesThreshold { get; init; } = 1;
    public double MeshMessageDeliveriesCap { get; init; } = 100;
    public TimeSpan MeshMessageDeliveriesActivation { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>P4: squared count of invalid (rejected) messages; must be negative.</summary>
    public double InvalidMessageDeliveriesWeight { get; init; } = -10;
    public double InvalidMessageDeliveriesDecay { get; init; } = 0.5;
}

public sealed class PeerScoreOptions
{
    public TopicScoreParams DefaultTopic { get; init; } = new();
    public Dictionary<string, TopicScoreParams> Topics { get; init; } = [];
    /// <summary>Cap on the summed topic part (0 = no cap).</summary>
    public double TopicScoreCap { get; init; } = 50;
    /// <summary>P7: squared behaviour penalty (GRAFT during backoff, broken rules); must be negative.</summary>
    public double BehaviourPenaltyWeight { get; init; } = -10;
    public double BehaviourPenaltyThreshold { get; init; }
    public double BehaviourPenaltyDecay { get; init; } = 0.9;
    /// <summary>Counters below this decay to zero.</summary>
    public double DecayToZero { get; init; } = 0.01;
    /// <summary>Below this no gossip is exchanged with the peer.</summary>
    public double GossipThreshold { get; init; } = -10;
    /// <summary>Below this we do not publish to the peer.</summary>
    public double PublishThreshold { get; init; } = -50;
    /// <summary>Below this every RPC from the peer is ignored.</summary>
    public double GraylistThreshold { get; init; } = -80;
}

/// <summary>GossipSub v1.1 settings. Defaults follow the spec and js-libp2p.</summary>
public sealed class GossipSubOptions
{
    public int D { get; init; } = 6;
    public int Dlo { get; init; } = 4;
    public int Dhi { get; init; } = 12;
    public int Dlazy { get; init; } = 6;
    /// <summary>Peers kept by score when pruning an oversubscribed mesh.</summary>
    public int Dscore { get; init; } = 4;
    /// <summary>Outbound-connection peers kept in each mesh.</summary>
    public int Dout { get; init; } = 2;
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan HeartbeatInitialDelay { get; init; } = TimeSpan.FromMilliseconds(100);
    public TimeSpan FanoutTtl { get; init; } = TimeSpan.FromSeconds(60);
    public int HistoryLength { get; init; } = 5;
    public int HistoryGossip { get; init; } = 3;
    public double GossipFactor { get; init; } = 0.25;
    public TimeSpan SeenTtl { get; init; } = TimeSpan.FromSeconds(120);
    public TimeSpan PruneBackoff { get; init; } = TimeSpan.FromMinutes(1);
    public TimeSpan UnsubscribeBackoff { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Peer ids offered in PRUNE (peer exchange); 0 disables PX.</summary>
    public int PrunePeers { get; init; } = 16;
    /// <summary>Publish own messages to every subscribed peer above the publish threshold, not only the mesh.</summary>
    public bool FloodPublish { get; init; } = true;
    public int MaxIHaveLength { get; init; } = 5000;
    public int MaxIHaveMessages { get; init; } = 10;
    public int GossipRetransmission { get; init; } = 3;
    /// <summary>RPCs queued per peer before further ones are dropped (a slow peer cannot exhaust memory).</summary>
    public int MaxQueuedRpcsPerPeer { get; init; } = 100_000;
    /// <summary>Deliver own published messages to the local <see cref="GossipSub.Messages"/> channel.</summary>
    public bool EmitSelf { get; init; }
    /// <summary>
    /// Message id. Default (as js-libp2p's StrictSign default): PublicKey protobuf of the author ‖ 8-byte seqno,
    /// i.e. for an Ed25519 identity peer id the <c>from</c> bytes without their 2-byte identity-multihash prefix ‖ seqno.
    /// All peers on a topic must use the same function.
    /// </summary>
    public Func<PubsubMessage, byte[]> MessageIdFn { get; init; } = GossipSub.DefaultMessageId;
    public PubsubLimits Limits { get; init; } = new();
    public PeerScoreOptions Score { get; init; } = new();
}
