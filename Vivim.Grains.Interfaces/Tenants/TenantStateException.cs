namespace Vivim.Tenants;

/// <summary>The tenant exists already, or does not (HTTP 409 / 404).</summary>
[GenerateSerializer, Alias("vivim.TenantStateException")]
public sealed class TenantStateException(string message) : Exception(message);
