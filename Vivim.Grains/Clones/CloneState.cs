using Vivim.Protocol.Model;

namespace Vivim.Clones;

/// <summary>What a clone grain persists; sessions are in memory only.</summary>
[GenerateSerializer, Alias("vivim.CloneState")]
public sealed class CloneState
{
    [Id(0)] public CloneRegistration? Registration { get; set; }

    [Id(1)] public CloneLifecycle Status { get; set; }

    [Id(2)] public SyncConfig Config { get; set; } = new();

    /// <summary>The last seq the clone acknowledged as applied.</summary>
    [Id(3)] public long Cursor { get; set; }

    [Id(4)] public long? LastSyncAt { get; set; }

    /// <summary>The v2 root at the cursor: as the gateway sent it, or looked up in the log when the status is asked ("" until then).</summary>
    [Id(5)] public string StateHash { get; set; } = string.Empty;

    /// <summary>A fork may read the snapshot at its fork point once; this records that it did.</summary>
    [Id(6)] public bool ForkSnapshotTaken { get; set; }
}
