using Vivim.Protocol.Model;

namespace Vivim.Protocol.ExitNodes;

/// <summary>An owner's update before signing: the node fills in id (when absent), timestamp, source and signatures.</summary>
[GenerateSerializer, Immutable, Alias("vivim.OwnerUpdate")]
public sealed record OwnerUpdate(UpdateType Type, UpdateOperation Operation, string Path, RawJson Data, string? UpdateId = null, long? BaseSeq = null);
