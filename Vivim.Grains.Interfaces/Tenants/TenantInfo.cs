namespace Vivim.Tenants;

[GenerateSerializer, Immutable, Alias("vivim.TenantInfo")]
public sealed record TenantInfo(string TenantId, string Name, TenantQuotas Quotas, int ExitNodeCount, IReadOnlyList<string> KeyIds, long CreatedAt);
