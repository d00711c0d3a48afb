using Orleans.Concurrency;
using Vivim.Feeds;
using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Anchors;

/// <summary>
/// The canonical state of one DID (grain key: the DID): orders signed updates into gapless seqs, keeps the state
/// tree, signs commits with the parent node's key, appends to the update log before acknowledging, and pushes each
/// commit to the listeners whose lease holds (<see cref="ListenAsync"/>).
/// </summary>
[Alias("vivim.IAnchorStateGrain")]
public interface IAnchorStateGrain : IGrainWithStringKey
{
    /// <summary>Binds the anchor to its parent node's key (sealed under the key-encryption key). Idempotent for the same key.</summary>
    [Alias("Initialize")]
    Task InitializeAsync(AnchorSetup setup);

    /// <summary>
    /// Commits a batch of updates given as the JSON text each author signed, in order and atomically: all of them
    /// or none. A retried update (same <c>updateId</c>, same content) gets its original receipt.
    /// </summary>
    [Alias("Submit")]
    Task<SubmitResult> SubmitAsync(IReadOnlyList<string> updatesJson);

    /// <summary>
    /// Commits the parent's own updates, which the anchor stamps and signs with the key it holds (v1 and v2) into the
    /// text it stores: one signature of each kind per update and none to verify. Same outcomes as <see cref="SubmitAsync"/>.
    /// </summary>
    [Alias("WriteAsOwner")]
    Task<SubmitResult> WriteAsOwnerAsync(IReadOnlyList<OwnerUpdate> updates);

    [Alias("GetHead")]
    Task<AnchorHead> GetHeadAsync();

    /// <summary>
    /// A consumer of the DID's events starts or renews its lease: the anchor pushes commits and revocations to
    /// <paramref name="listener"/> for the lease's duration after this call, and to nobody while nobody listens.
    /// Returns the head as well, so one periodic call both renews the lease and reconciles.
    /// </summary>
    [Alias("Listen")]
    Task<ListenerLease> ListenAsync(IDidListener listener);

    /// <summary>How many listeners hold a lease now (for operators: who follows this DID).</summary>
    [Alias("CountListeners")]
    Task<int> CountListenersAsync();

    /// <summary>Passes a clone's loss of access on to the listeners (its exit node calls this after revoking).</summary>
    [Alias("NotifyRevoked")]
    Task NotifyRevokedAsync(CloneAccessRevoked revoked);

    /// <summary>Updates with seq &gt; <paramref name="afterSeq"/> (at most <paramref name="limit"/>) and every commit that overlaps them.</summary>
    [Alias("GetUpdates")]
    Task<StoredUpdatePage> GetUpdatesAsync(long afterSeq, int limit);

    /// <summary>A signed snapshot of the whole state at the current head (v1 root for SDK clients, v2 root and seq for ours).</summary>
    [Alias("GetSnapshot")]
    Task<StateSnapshot> GetSnapshotAsync();

    /// <summary>One document with its inclusion proof under the current root, or null (with nothing to prove) when absent.</summary>
    [Alias("GetDocument")]
    Task<DocumentProof?> GetDocumentAsync(string path);

    /// <summary>Grants or revokes a clone's right to write (the exit node calls this on approval, trust changes, suspension and removal).</summary>
    [Alias("SetWriter")]
    Task SetWriterAsync(WriterGrant grant);

    /// <summary>A clone's acknowledged cursor (its Clone grain reports it when it persists it): the log is kept for active clones.</summary>
    [Alias("ReportCursor"), OneWay]
    Task ReportCursorAsync(string cloneId, long seq);

    /// <summary>
    /// Applies the retention rules now (they also run periodically): drops the log before the retention window unless an
    /// active clone still needs it, and never keeps it past the hard cap. Returns the new head.
    /// </summary>
    [Alias("ApplyRetention")]
    Task<AnchorHead> ApplyRetentionAsync();

    /// <summary>Removes the DID's log, documents and anchor state (its exit node is being deleted).</summary>
    [Alias("Delete")]
    Task DeleteAsync();
}
