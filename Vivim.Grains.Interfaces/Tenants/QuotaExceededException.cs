namespace Vivim.Tenants;

/// <summary>A tenant quota is used up (HTTP 403 with code <c>quota-exceeded</c>).</summary>
[GenerateSerializer, Alias("vivim.QuotaExceededException")]
public sealed class QuotaExceededException(string message) : Exception(message);
