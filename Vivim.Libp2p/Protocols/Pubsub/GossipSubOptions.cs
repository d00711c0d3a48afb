namespace Vivim.Libp2p.Protocols.Pubsub;

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
