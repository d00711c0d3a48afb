namespace Vivim.ExitNodes;

/// <summary>An exit node was created (<paramref name="Hosted"/>) or deleted; gateways recompute their share on it.</summary>
[GenerateSerializer, Immutable, Alias("vivim.HostedDidChange")]
public sealed record HostedDidChange(string Did, bool Hosted);
