namespace Vivim.Protocol.Sync;

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
