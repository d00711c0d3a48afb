namespace Vivim.Protocol.Model;

/// <summary>The SDK's anchor summary of a DID's state, nested (signed) in an exit node's advertisement.</summary>
[GenerateSerializer, Immutable, Alias("vivim.AnchorState")]
public sealed record AnchorState(
    string Did,
    string CloneId,
    string? ParentId,
    TrustLevel TrustLevel,
    string MerkleRoot,
    string StateCid,
    long Timestamp,
    string Version,
    IReadOnlyList<string> Capabilities,
    string Signature,
    V2Proof? Proof = null);
