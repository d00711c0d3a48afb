using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Protocols.Pubsub;

public sealed record PubsubPrune(string Topic, List<byte[]> PeerIds, ulong? BackoffSeconds);
