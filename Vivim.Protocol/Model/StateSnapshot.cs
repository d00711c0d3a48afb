namespace Vivim.Protocol.Model;

/// <summary>
/// A signed copy of a DID's whole state. <see cref="MerkleRoot"/> is the v1 root (SHA-256 of <c>JSON.stringify(state)</c>)
/// that SDK 1.x checks; <see cref="Seq"/> and <see cref="RootV2"/> are ours, covered by the v2 proof.
/// </summary>
[GenerateSerializer, Immutable, Alias("vivim.StateSnapshot")]
public sealed record StateSnapshot(
    string SnapshotId,
    long CreatedAt,
    string SourceDid,
    string SourceCloneId,
    string SdkVersion,
    string SchemaVersion,
    string MerkleRoot,
    RawJson State,
    string Signature,
    long? Seq = null,
    string? RootV2 = null,
    V2Proof? Proof = null);
