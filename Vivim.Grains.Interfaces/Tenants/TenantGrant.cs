namespace Vivim.Tenants;

/// <summary>What an authenticated tenant may do at the edge (its effective quotas).</summary>
[GenerateSerializer, Immutable, Alias("vivim.TenantGrant")]
public sealed record TenantGrant(string TenantId, TenantQuotas Quotas);
