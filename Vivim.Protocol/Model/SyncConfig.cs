namespace Vivim.Protocol.Model;

/// <summary>A clone's sync settings, with the SDK's defaults.</summary>
[GenerateSerializer, Immutable, Alias("vivim.SyncConfig")]
public sealed record SyncConfig(
    bool AutoSync = true,
    int SyncInterval = 60000,
    int MaxBatchSize = 100,
    int SyncTimeout = 30000,
    bool Compression = false);

/// <summary>A clone's sync status (SDK shape): <see cref="PendingUpdates"/> = head − cursor, <see cref="StateHash"/> = v2 root at the cursor.</summary>
[GenerateSerializer, Immutable, Alias("vivim.SyncStatus")]
public sealed record SyncStatus(
    bool Connected,
    string ParentDid,
    long? LastSyncAt,
    long PendingUpdates,
    string StateHash);
