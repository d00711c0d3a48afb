namespace Vivim.Tenants;

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
