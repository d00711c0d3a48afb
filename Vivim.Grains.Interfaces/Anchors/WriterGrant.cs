namespace Vivim.Anchors;

/// <summary>Whether a clone may write into the anchor: its DID signs its updates; <see cref="CanWrite"/> is false once suspended or removed.</summary>
[GenerateSerializer, Immutable, Alias("vivim.WriterGrant")]
public sealed record WriterGrant(string CloneId, string CloneDid, bool CanWrite);
