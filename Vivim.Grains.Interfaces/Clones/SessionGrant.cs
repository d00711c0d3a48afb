using Vivim.Protocol.Model;

namespace Vivim.Clones;

/// <summary>What a newly attached session needs: where to start, and how many unacknowledged batches it may have.</summary>
[GenerateSerializer, Immutable, Alias("vivim.SessionGrant")]
public sealed record SessionGrant(string ParentDid, long Cursor, SyncConfig Config, int MaxInFlightBatches);
