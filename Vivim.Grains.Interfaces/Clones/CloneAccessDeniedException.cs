namespace Vivim.Clones;

/// <summary>The clone may not do this (suspended, removed, no write permission): HTTP 403.</summary>
[GenerateSerializer, Alias("vivim.CloneAccessDeniedException")]
public sealed class CloneAccessDeniedException(string message) : Exception(message);
