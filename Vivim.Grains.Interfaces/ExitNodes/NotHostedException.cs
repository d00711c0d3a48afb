namespace Vivim.ExitNodes;

/// <summary>No such exit node or clone here (HTTP 404).</summary>
[GenerateSerializer, Alias("vivim.NotHostedException")]
public sealed class NotHostedException(string message) : Exception(message);
