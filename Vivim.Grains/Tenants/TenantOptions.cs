namespace Vivim.Tenants;

/// <summary>Configuration section <c>Vivim:Tenants</c>: the quotas a tenant gets unless created with its own.</summary>
public sealed class TenantOptions
{
    public const string Section = "Vivim:Tenants";

    public int MaxExitNodes { get; set; } = 100;

    public int MaxClonesPerExitNode { get; set; } = 1000;

    /// <summary>Updates a tenant's owner writes may commit per second (a token bucket at each gateway).</summary>
    public int UpdatesPerSecond { get; set; } = 2000;

    /// <summary>Authenticated requests per second per tenant (a token bucket at each gateway).</summary>
    public int RequestsPerSecond { get; set; } = 200;

    /// <summary>Bytes of state (UTF-8 size of the current documents) each exit node may hold: 1 GiB.</summary>
    public long MaxStateBytesPerExitNode { get; set; } = 1L << 30;

    /// <summary>
    /// How long a gateway may accept an API key it has checked with the tenant without checking again (zero: every
    /// request asks the tenant). Revoking a key or deleting the tenant waits this long before it returns, so a key is
    /// refused everywhere once its revocation has been answered.
    /// </summary>
    public TimeSpan ApiKeyLease { get; set; } = TimeSpan.FromSeconds(1);

    public TenantQuotas Resolve(TenantQuotas? quotas) => new(
        quotas?.MaxExitNodes ?? MaxExitNodes,
        quotas?.MaxClonesPerExitNode ?? MaxClonesPerExitNode,
        quotas?.UpdatesPerSecond ?? UpdatesPerSecond,
        quotas?.RequestsPerSecond ?? RequestsPerSecond,
        quotas?.MaxStateBytesPerExitNode ?? MaxStateBytesPerExitNode);
}
