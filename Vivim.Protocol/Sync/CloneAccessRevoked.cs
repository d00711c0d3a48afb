namespace Vivim.Protocol.Sync;

/// <summary>A clone lost access (suspended, removed or deregistered): its live sessions close at once.</summary>
[GenerateSerializer, Immutable, Alias("vivim.CloneAccessRevoked")]
public sealed record CloneAccessRevoked(string Did, string CloneId, string Reason) : DidEvent(Did);
