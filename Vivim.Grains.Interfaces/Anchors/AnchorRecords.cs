using Vivim.Keys;
using Vivim.Protocol.Model;

namespace Vivim.Anchors;

/// <summary>
/// The parent key (sealed) and, for a tenant's exit node, the most bytes of state it may hold (the UTF-8 size of its
/// current documents' JSON; null for no limit). Initializing again with the same key updates the limit.
/// </summary>
[GenerateSerializer, Immutable, Alias("vivim.AnchorSetup")]
public sealed record AnchorSetup(SealedKey ParentKey, long? MaxStateBytes = null);

/// <summary>Whether a clone may write into the anchor: its DID signs its updates; <see cref="CanWrite"/> is false once suspended or removed.</summary>
[GenerateSerializer, Immutable, Alias("vivim.WriterGrant")]
public sealed record WriterGrant(string CloneId, string CloneDid, bool CanWrite);

[GenerateSerializer, Immutable, Alias("vivim.UpdateReceipt")]
public sealed record UpdateReceipt(string UpdateId, long Seq, string Root);

/// <summary>Why update <see cref="Index"/> of a batch was refused; <see cref="Code"/> is stable (see <see cref="RejectionCodes"/>).</summary>
[GenerateSerializer, Immutable, Alias("vivim.UpdateRejection")]
public sealed record UpdateRejection(int Index, string? UpdateId, string Code, string Reason);

[GenerateSerializer, Alias("vivim.SubmitOutcome")]
public enum SubmitOutcome
{
    /// <summary>Every update is committed (or was already, for retries); receipts are index-aligned.</summary>
    Committed,

    /// <summary>Bad input: nothing was committed.</summary>
    Rejected,

    /// <summary>An author may not write (unknown, suspended, read-only): nothing was committed.</summary>
    Forbidden,

    /// <summary>A <c>baseSeq</c> precondition failed: nothing was committed.</summary>
    Conflict,

    /// <summary>The batch would take the state past its bytes-of-state quota: nothing was committed.</summary>
    QuotaExceeded,
}

[GenerateSerializer, Immutable, Alias("vivim.SubmitResult")]
public sealed record SubmitResult(SubmitOutcome Outcome, IReadOnlyList<UpdateReceipt> Receipts, IReadOnlyList<UpdateRejection> Rejections);

/// <summary>
/// The anchor's head: the last seq, the v2 root there, the first seq the log still holds, and the bytes of state
/// (UTF-8 size of the current documents' JSON, what the bytes-of-state quota counts).
/// </summary>
[GenerateSerializer, Immutable, Alias("vivim.AnchorHead")]
public sealed record AnchorHead(string Did, long Seq, string Root, long RetainedFromSeq, long StateBytes = 0);

/// <summary>The anchor publishes on its stream for <see cref="Duration"/> from the call; <see cref="Head"/> is its head at the call.</summary>
[GenerateSerializer, Immutable, Alias("vivim.ListenerLease")]
public sealed record ListenerLease(AnchorHead Head, TimeSpan Duration);

/// <summary>
/// A page of committed updates (each with <c>seq</c> and <c>merkleProof</c>) and every commit overlapping it. When
/// <see cref="ResyncRequired"/> the cursor is behind the retained log and the clone must take a new snapshot.
/// </summary>
[GenerateSerializer, Immutable, Alias("vivim.UpdatePage")]
public sealed record UpdatePage(IReadOnlyList<StateUpdate> Updates, IReadOnlyList<Commit> Commits, long HeadSeq, bool ResyncRequired = false);

[GenerateSerializer, Immutable, Alias("vivim.DocumentProof")]
public sealed record DocumentProof(string Path, RawJson Document, long Seq, string Root, string MerkleProof);

/// <summary>Stable rejection codes of update batches.</summary>
public static class RejectionCodes
{
    public const string InvalidJson = "invalid-json";
    public const string InvalidShape = "invalid-shape";
    public const string InvalidSignature = "invalid-signature";
    public const string UnknownAuthor = "unknown-author";
    public const string WriteForbidden = "write-forbidden";
    public const string InvalidPath = "invalid-path";
    public const string AlreadyExists = "already-exists";
    public const string NotFound = "not-found";
    public const string Conflict = "conflict";
    public const string TimestampInFuture = "timestamp-in-future";
    public const string TimestampExpired = "timestamp-expired";
    public const string TooLarge = "too-large";
    public const string DuplicateUpdateId = "duplicate-update-id";
    public const string QuotaExceeded = "quota-exceeded";
    public const string NotInitialized = "not-initialized";

    /// <summary>This update was not refused, but another one in its batch was, and batches are atomic.</summary>
    public const string BatchAborted = "batch-aborted";
}
