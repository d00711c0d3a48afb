namespace Vivim.Tenants;

/// <summary>What a tenant persists. API keys are kept as SHA-256 of their secret only.</summary>
[GenerateSerializer, Alias("vivim.TenantState")]
public sealed class TenantState
{
    [Id(0)] public bool Created { get; set; }

    [Id(1)] public string Name { get; set; } = string.Empty;

    [Id(2)] public TenantQuotas Quotas { get; set; } = new();

    [Id(3)] public long CreatedAt { get; set; }

    [Id(4)] public Dictionary<string, byte[]> ApiKeyHashes { get; set; } = new(StringComparer.Ordinal);

    /// <summary>DIDs of the exit nodes this tenant owns (also those whose creation is under way).</summary>
    [Id(5)] public SortedSet<string> ExitNodes { get; set; } = new(StringComparer.Ordinal);
}
