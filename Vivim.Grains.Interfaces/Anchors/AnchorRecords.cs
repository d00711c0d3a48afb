using Vivim.Keys;

namespace Vivim.Anchors;

/// <summary>
/// The parent key (sealed) and, for a tenant's exit node, the most bytes of state it may hold (the UTF-8 size of its
/// current documents' JSON; null for no limit). Initializing again with the same key updates the limit.
/// </summary>
[GenerateSerializer, Immutable, Alias("vivim.AnchorSetup")]
public sealed record AnchorSetup(SealedKey ParentKey, long? MaxStateBytes = null);

/// <summary>Whether a clone may write into the anchor: its DID signs its updates; <see cref="CanWrite"/> is false once suspended or removed.</summary>
[GenerateSerializer, Immutable, Alias("vivim.WriterGrant")]
public sealed record WriterGrant(string CloneId, string CloneDid, bool CanWrite);

/// <summary>
/// The anchor's head: the last seq, the v2 root there, the first seq the log still holds, and the bytes of state
/// (UTF-8 size of the current documents' JSON, what the bytes-of-state quota counts).
/// </summary>
[GenerateSerializer, Immutable, Alias("vivim.AnchorHead")]
public sealed record AnchorHead(string Did, long Seq, string Root, long RetainedFromSeq, long StateBytes = 0);

/// <summary>The anchor publishes on its stream for <see cref="Duration"/> from the call; <see cref="Head"/> is its head at the call.</summary>
[GenerateSerializer, Immutable, Alias("vivim.ListenerLease")]
public sealed record ListenerLease(AnchorHead Head, TimeSpan Duration);
