using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Protocols.Pubsub;

// Peer scoring (P1–P4 per topic, P7 behaviour penalty), decay at each heartbeat, and the thresholds it is checked against.
public sealed partial class GossipSub
{
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
        var now = Now;
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
