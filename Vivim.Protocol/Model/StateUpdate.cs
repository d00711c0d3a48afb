namespace Vivim.Protocol.Model;

/// <summary>
/// One signed change to one document. <see cref="Seq"/> and <see cref="MerkleProof"/> are filled in by the anchor after
/// the author signed, so the v2 proof leaves them out; <see cref="BaseSeq"/> (ours, signed) asks for optimistic concurrency.
/// </summary>
[GenerateSerializer, Immutable, Alias("vivim.StateUpdate")]
public sealed record StateUpdate(
    string UpdateId,
    UpdateType Type,
    long Timestamp,
    string SourceDid,
    string SourceCloneId,
    UpdateOperation Operation,
    string Path,
    RawJson Data,
    string MerkleProof,
    string Signature,
    V2Proof? Proof = null,
    long? Seq = null,
    long? BaseSeq = null);
