namespace Vivim.Tenants;

[GenerateSerializer, Immutable, Alias("vivim.TenantApiKey")]
public sealed record TenantApiKey(string TenantId, string KeyId, string ApiKey);
