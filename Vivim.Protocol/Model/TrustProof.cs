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

/// <summary>
/// The SDK's payload fields plus ours: <see cref="Permissions"/> (<c>read</c>, <c>write</c>), a <see cref="Reason"/> for
/// suspensions, and for a fork (a <c>migration</c> proof) the fork point: the anchor's seq and v2 root the clone left at.
/// </summary>
[GenerateSerializer, Immutable, Alias("vivim.TrustProofPayload")]
public sealed record TrustProofPayload(
    TrustLevel? TrustLevel = null,
    string? DelegatedBy = null,
    string? ParentCloneId = null,
    MigrationType? MigrationType = null,
    IReadOnlyList<string>? Permissions = null,
    string? Reason = null,
    long? ForkSeq = null,
    string? ForkRoot = null);
