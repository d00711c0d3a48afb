namespace Vivim.Libp2p.Protocols.Pubsub;

/// <summary>Subscription change (RPC.SubOpts).</summary>
public sealed record PubsubSubOpts(bool Subscribe, string Topic);
