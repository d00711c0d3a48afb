namespace Vivim.Tenants;

/// <summary>
/// What an authenticated tenant may do at the edge (its effective quotas), and for how long a gateway may answer the
/// same key from this grant without asking the tenant again: the tenant does not report a revocation done until every
/// grant it gave for that key has run out (zero: ask every time).
/// </summary>
[GenerateSerializer, Immutable, Alias("vivim.TenantGrant")]
public sealed record TenantGrant(string TenantId, TenantQuotas Quotas, TimeSpan Lease = default);
