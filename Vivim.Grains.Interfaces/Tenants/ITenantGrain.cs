using Orleans.Concurrency;
using Vivim.ExitNodes;
using Vivim.Protocol.Model;

namespace Vivim.Tenants;

/// <summary>
/// An account of the hosted service (grain key: tenant id): its name, quotas, hashed API keys and the exit nodes it
/// owns. Exit nodes are created and deleted through here, so quotas and ownership hold in one place.
/// </summary>
[Alias("vivim.ITenantGrain")]
public interface ITenantGrain : IGrainWithStringKey
{
    /// <summary>Creates the tenant and its first API key (operator only). The key's secret is returned once, never stored.</summary>
    [Alias("Create")]
    Task<TenantApiKey> CreateAsync(string name, TenantQuotas? quotas);

    [Alias("Get")]
    Task<TenantInfo> GetAsync();

    /// <summary>Deletes the tenant with its exit nodes, their clones and data (operator only).</summary>
    [Alias("Delete")]
    Task DeleteAsync();

    /// <summary>A new API key; existing keys stay valid until revoked.</summary>
    [Alias("CreateApiKey")]
    Task<TenantApiKey> CreateApiKeyAsync();

    /// <summary>
    /// Revokes a key. Returns once no gateway can still accept it: after the <see cref="TenantGrant.Lease"/> of the
    /// grants given for it has passed since the key was removed.
    /// </summary>
    [Alias("RevokeApiKey")]
    Task RevokeApiKeyAsync(string keyId);

    /// <summary>
    /// Checks an API key by its id and the SHA-256 of its secret; null unless it is a live key of this tenant. A pure read
    /// of the tenant's keys, so it interleaves: a revocation waiting out its leases does not hold up other keys' checks.
    /// </summary>
    [Alias("VerifyApiKey")]
    [AlwaysInterleave]
    Task<TenantGrant?> VerifyApiKeyAsync(string keyId, byte[] secretHash);

    /// <summary>Hosts a new exit node for this tenant within its quota; throws <see cref="ExitNodeConflictException"/> when the DID is hosted.</summary>
    [Alias("CreateExitNode")]
    Task<ExitNodeAdvertisement> CreateExitNodeAsync(ExitNodeCreation creation);

    /// <summary>Deletes one of this tenant's exit nodes: its clones are told to stop and its data is removed.</summary>
    [Alias("DeleteExitNode")]
    Task DeleteExitNodeAsync(string did);

    [Alias("ListExitNodes")]
    Task<ExitNodeSummaryPage> ListExitNodesAsync(string? afterDid, int limit);
}
