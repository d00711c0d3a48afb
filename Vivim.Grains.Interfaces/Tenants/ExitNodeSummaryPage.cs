namespace Vivim.Tenants;

[GenerateSerializer, Immutable, Alias("vivim.ExitNodeSummaryPage")]
public sealed record ExitNodeSummaryPage(IReadOnlyList<ExitNodeSummary> Items, string? NextCursor);
