using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Protocols.Pubsub;

/// <summary>Decoder limits; anything past them throws <see cref="LimitExceededException"/>.</summary>
public sealed class PubsubLimits
{
    public int MaxRpcLength { get; init; } = 1 << 20;
    public int MaxSubscriptions { get; init; } = 1024;
    public int MaxMessages { get; init; } = 4096;
    public int MaxControlEntries { get; init; } = 1024;
    public int MaxIdsPerControl { get; init; } = 5000;
    public int MaxTopicLength { get; init; } = 1024;
    public int MaxMessageIdLength { get; init; } = 256;
}
