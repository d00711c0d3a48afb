using Vivim.Protocol.Model;

namespace Vivim.Clones;

/// <summary>SDK <see cref="SyncStatus"/> plus the cursor and the anchor's head.</summary>
[GenerateSerializer, Immutable, Alias("vivim.CloneStatus")]
public sealed record CloneStatus(SyncStatus Status, long Cursor, long HeadSeq, TrustLevel TrustLevel);
