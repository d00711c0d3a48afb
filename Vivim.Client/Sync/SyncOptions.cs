namespace Vivim.Client.Sync;

/// <summary>Client-side choices beyond the SDK's <c>SyncConfig</c>.</summary>
public sealed record SyncOptions
{
    /// <summary>
    /// The key the parent node signs snapshots and commits with (did:key or hex). Null: the parent DID's own key,
    /// which is what a hosted parent node holds.
    /// </summary>
    public string? ParentPublicKey { get; init; }

    /// <summary>Re-check every author's v2 proof as well (the anchor already did before committing).</summary>
    public bool VerifyAuthorSignatures { get; init; }

    /// <summary>
    /// How often a live clone compares its cursor with the anchor's head: a lost last stream event shows no gap, so
    /// without this a clone could sit behind until the next periodic sync.
    /// </summary>
    public TimeSpan ReconcileInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Live batches waiting to be applied; beyond this the oldest hint is dropped (pulls fill the gap).</summary>
    public int LiveQueueCapacity { get; init; } = 64;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
