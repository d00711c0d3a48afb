using Vivim.Protocol.Model;

namespace Vivim.Clones;

[GenerateSerializer, Immutable, Alias("vivim.CloneRegistration")]
public sealed record CloneRegistration(
    string CloneId,
    string CloneDid,
    string ParentDid,
    TrustLevel TrustLevel,
    IReadOnlyList<string> Permissions,
    MigrationType MigrationType,
    long RegisteredAt,
    long InitialSeq);
