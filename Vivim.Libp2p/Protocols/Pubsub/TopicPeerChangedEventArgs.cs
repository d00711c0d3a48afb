using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Protocols.Pubsub;

/// <summary>A remote peer joined or left a topic: it subscribed, unsubscribed, or its pubsub stream went away.</summary>
public sealed class TopicPeerChangedEventArgs(PeerId peer, string topic, bool subscribed) : EventArgs
{
    public PeerId Peer { get; } = peer;

    public string Topic { get; } = topic;

    /// <summary>True when the peer joined the topic, false when it left.</summary>
    public bool Subscribed { get; } = subscribed;
}
