namespace Vivim.Libp2p.Protocols.Pubsub;

public sealed record PubsubIHave(string Topic, List<byte[]> MessageIds);
