namespace Vivim.Client.Sync;

/// <summary>
/// What the parent served does not verify (signature, hash, root, proof, order): nothing of it was applied.
/// <see cref="Code"/> is stable for callers and tests.
/// </summary>
public sealed class SyncVerificationException(string code, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Code { get; } = code;

    /// <summary>The update being checked when verification failed, if any.</summary>
    public Vivim.Protocol.Model.StateUpdate? Update { get; init; }
}

/// <summary>Stable codes of <see cref="SyncVerificationException"/>.</summary>
public static class VerificationCodes
{
    public const string SnapshotSignature = "snapshot-signature";
    public const string SnapshotRoot = "snapshot-root";
    public const string SnapshotShape = "snapshot-shape";
    public const string CommitSignature = "commit-signature";
    public const string CommitShape = "commit-shape";
    public const string MissingCommit = "missing-commit";
    public const string Order = "order";
    public const string NoProgress = "no-progress";
    public const string Truncated = "truncated";
    public const string UpdateHash = "update-hash";
    public const string PrevRoot = "prev-root";
    public const string Root = "root";
    public const string MerkleProof = "merkle-proof";
    public const string AuthorSignature = "author-signature";
    public const string InvalidUpdate = "invalid-update";
}
