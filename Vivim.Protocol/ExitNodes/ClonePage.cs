namespace Vivim.Protocol.ExitNodes;

[GenerateSerializer, Immutable, Alias("vivim.ClonePage")]
public sealed record ClonePage(IReadOnlyList<CloneSummary> Items, string? NextCursor);
