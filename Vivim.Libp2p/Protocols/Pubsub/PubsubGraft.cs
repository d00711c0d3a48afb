namespace Vivim.Libp2p.Protocols.Pubsub;

public sealed record PubsubGraft(string Topic);
