using Vivim.Keys;

namespace Vivim.Anchors;

/// <summary>
/// The parent key (sealed) and, for a tenant's exit node, the most bytes of state it may hold (the UTF-8 size of its
/// current documents' JSON; null for no limit). Initializing again with the same key updates the limit.
/// </summary>
[GenerateSerializer, Immutable, Alias("vivim.AnchorSetup")]
public sealed record AnchorSetup(SealedKey ParentKey, long? MaxStateBytes = null);
