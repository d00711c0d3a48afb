namespace Vivim.Anchors;

/// <summary>
/// The anchor's head: the last seq, the v2 root there, the first seq the log still holds, and the bytes of state
/// (UTF-8 size of the current documents' JSON, what the bytes-of-state quota counts).
/// </summary>
[GenerateSerializer, Immutable, Alias("vivim.AnchorHead")]
public sealed record AnchorHead(string Did, long Seq, string Root, long RetainedFromSeq, long StateBytes = 0);
