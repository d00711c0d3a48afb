using Vivim.Protocol.Model;

namespace Vivim.Protocol.ExitNodes;

[GenerateSerializer, Immutable, Alias("vivim.CloneSummary")]
public sealed record CloneSummary(
    string CloneId,
    string Did,
    TrustLevel TrustLevel,
    IReadOnlyList<string> Permissions,
    MigrationType MigrationType,
    long Cursor,
    bool Connected,
    long LastSyncAt,
    long PendingUpdates);
