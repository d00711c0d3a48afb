namespace Vivim.ExitNodes;

/// <summary>The DID is already hosted (HTTP 409).</summary>
[GenerateSerializer, Alias("vivim.ExitNodeConflictException")]
public sealed class ExitNodeConflictException(string message) : Exception(message);
