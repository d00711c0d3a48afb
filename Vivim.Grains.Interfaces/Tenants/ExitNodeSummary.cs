namespace Vivim.Tenants;

[GenerateSerializer, Immutable, Alias("vivim.ExitNodeSummary")]
public sealed record ExitNodeSummary(string Did, long HeadSeq, int CloneCount, long StateBytes = 0);
