namespace Vivim.Libp2p.Protocols.Pubsub;

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
