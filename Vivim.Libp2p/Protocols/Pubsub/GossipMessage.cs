using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Protocols.Pubsub;

/// <summary>A message delivered to the application.</summary>
public sealed record GossipMessage(string Topic, byte[] Data, PeerId? From, ulong Seqno, byte[] Id, PeerId ReceivedFrom);
