namespace Vivim.Protocol.Model;

/// <summary>A signed statement of trust from an issuer (an exit node) about a target (a clone).</summary>
[GenerateSerializer, Immutable, Alias("vivim.TrustProof")]
public sealed record TrustProof(
    TrustProofType Type,
    string Issuer,
    string Target,
    string Signature,
    long Timestamp,
    TrustProofPayload Payload,
    V2Proof? Proof = null);

/// <summary>The SDK's payload fields plus ours: <see cref="Permissions"/> (<c>read</c>, <c>write</c>) and a <see cref="Reason"/> for suspensions.</summary>
[GenerateSerializer, Immutable, Alias("vivim.TrustProofPayload")]
public sealed record TrustProofPayload(
    TrustLevel? TrustLevel = null,
    string? DelegatedBy = null,
    string? ParentCloneId = null,
    MigrationType? MigrationType = null,
    IReadOnlyList<string>? Permissions = null,
    string? Reason = null);
