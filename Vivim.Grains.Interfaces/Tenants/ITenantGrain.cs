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

    [Alias("RevokeApiKey")]
    Task RevokeApiKeyAsync(string keyId);

    /// <summary>Checks an API key by its id and the SHA-256 of its secret; null unless it is a live key of this tenant.</summary>
    [Alias("VerifyApiKey")]
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

/// <summary>
/// Per-tenant limits; null members take the service's defaults. Bytes of state count the UTF-8 size of each exit
/// node's current documents (not its log, which retention bounds).
/// </summary>
[GenerateSerializer, Immutable, Alias("vivim.TenantQuotas")]
public sealed record TenantQuotas(
    int? MaxExitNodes = null,
    int? MaxClonesPerExitNode = null,
    int? UpdatesPerSecond = null,
    int? RequestsPerSecond = null,
    long? MaxStateBytesPerExitNode = null);

[GenerateSerializer, Immutable, Alias("vivim.TenantApiKey")]
public sealed record TenantApiKey(string TenantId, string KeyId, string ApiKey);

/// <summary>What an authenticated tenant may do at the edge (its effective quotas).</summary>
[GenerateSerializer, Immutable, Alias("vivim.TenantGrant")]
public sealed record TenantGrant(string TenantId, TenantQuotas Quotas);

[GenerateSerializer, Immutable, Alias("vivim.TenantInfo")]
public sealed record TenantInfo(string TenantId, string Name, TenantQuotas Quotas, int ExitNodeCount, IReadOnlyList<string> KeyIds, long CreatedAt);

/// <summary>
/// A new exit node: an imported key (hex seed) or none, for a custodial key the service creates; and the permissions
/// its clones get on approval (<c>["read"]</c> unless given, <c>["read","write"]</c> for clones that write back).
/// </summary>
[GenerateSerializer, Immutable, Alias("vivim.ExitNodeCreation")]
public sealed record ExitNodeCreation(
    string? PrivateKeySeedHex = null,
    IReadOnlyList<string>? Capabilities = null,
    ExitNodePolicy? Policy = null,
    ExitNodeEndpoints? Endpoints = null,
    IReadOnlyList<string>? DefaultPermissions = null);

[GenerateSerializer, Immutable, Alias("vivim.ExitNodeSummary")]
public sealed record ExitNodeSummary(string Did, long HeadSeq, int CloneCount, long StateBytes = 0);

[GenerateSerializer, Immutable, Alias("vivim.ExitNodeSummaryPage")]
public sealed record ExitNodeSummaryPage(IReadOnlyList<ExitNodeSummary> Items, string? NextCursor);

/// <summary>A tenant quota is used up (HTTP 403 with code <c>quota-exceeded</c>).</summary>
[GenerateSerializer, Alias("vivim.QuotaExceededException")]
public sealed class QuotaExceededException(string message) : Exception(message);

/// <summary>The tenant exists already, or does not (HTTP 409 / 404).</summary>
[GenerateSerializer, Alias("vivim.TenantStateException")]
public sealed class TenantStateException(string message) : Exception(message);
