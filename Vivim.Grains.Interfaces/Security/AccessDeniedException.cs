namespace Vivim.Security;

/// <summary>A call from outside the cluster without a valid principal, or with one that may not make it (HTTP 403/404 at the edge).</summary>
[GenerateSerializer, Alias("vivim.AccessDeniedException")]
public sealed class AccessDeniedException(string message) : Exception(message);
