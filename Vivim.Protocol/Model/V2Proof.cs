namespace Vivim.Protocol.Model;

/// <summary>The v2 signature carried beside the SDK's own fields: <c>{"type": "vivim-v2", "signature": hex}</c>.</summary>
[GenerateSerializer, Immutable, Alias("vivim.V2Proof")]
public sealed record V2Proof(string Type, string Signature);
