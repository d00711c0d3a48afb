namespace Vivim.Protocol.Model;

/// <summary>
/// The anchor's signed ordering of updates <see cref="FromSeq"/>…<see cref="ToSeq"/>: <c>Roots[i]</c> and
/// <c>UpdateHashes[i]</c> belong to update <c>FromSeq + i</c>, and <see cref="Root"/> is the last of <see cref="Roots"/>.
/// </summary>
[GenerateSerializer, Immutable, Alias("vivim.Commit")]
public sealed record Commit(
    string Did,
    long FromSeq,
    long ToSeq,
    string PrevRoot,
    IReadOnlyList<string> Roots,
    string Root,
    IReadOnlyList<string> UpdateHashes,
    long Timestamp,
    V2Proof? Proof = null);
