namespace Vivim.Protocol.Model;

/// <summary>A clone's sync settings, with the SDK's defaults.</summary>
[GenerateSerializer, Immutable, Alias("vivim.SyncConfig")]
public sealed record SyncConfig(
    bool AutoSync = true,
    int SyncInterval = 60000,
    int MaxBatchSize = 100,
    int SyncTimeout = 30000,
    bool Compression = false);

/// <summary>
/// A clone's sync status (SDK shape), the same from every transport and from the gateway: <see cref="PendingUpdates"/> =
/// head − cursor, <see cref="StateHash"/> = v2 root at the cursor, <see cref="LastSyncAt"/> = Unix ms, 0 before the first sync.
/// </summary>
[GenerateSerializer, Immutable, Alias("vivim.SyncStatus")]
public sealed record SyncStatus(
    bool Connected,
    string ParentDid,
    long LastSyncAt,
    long PendingUpdates,
    string StateHash);
