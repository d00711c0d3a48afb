namespace Vivim.ExitNodes;

/// <summary>
/// The node and its anchor's head; the log still holds seqs from <see cref="RetainedFromSeq"/> on; the current
/// documents take <see cref="StateBytes"/> (what the bytes-of-state quota counts).
/// </summary>
[GenerateSerializer, Immutable, Alias("vivim.ExitNodeInfo")]
public sealed record ExitNodeInfo(string Did, string TenantId, long HeadSeq, string Root, int CloneCount, long RetainedFromSeq = 1, long StateBytes = 0);
