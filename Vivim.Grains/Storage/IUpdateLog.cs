using Vivim.Protocol.Sync;

namespace Vivim.Storage;

/// <summary>
/// The durable source of truth of every DID: the append-only update log keyed (did, seq), the commits, and the
/// current documents keyed (did, path). An append is atomic — its updates, commit and document changes become
/// durable together or not at all — and it is refused unless it continues the log exactly.
/// </summary>
public interface IUpdateLog
{
    /// <summary>
    /// Appends a committed batch: updates with consecutive seqs, the one commit covering exactly them, and the
    /// document changes they made. Throws <see cref="UpdateLogConflictException"/> unless its first seq is the log's
    /// last seq + 1, <see cref="ArgumentException"/> for a malformed batch, and (a log that
    /// <see cref="RefusesRetainedUpdateIds"/>) <see cref="UpdateLogRepeatedUpdateException"/> for an update id it
    /// retains; in each case nothing is written.
    /// Hashes (update hash, root) are 64 lowercase hex digits.
    /// </summary>
    Task AppendAsync(string did, LogAppend append, CancellationToken cancellationToken = default);

    /// <summary>Updates with seq &gt; <paramref name="afterSeq"/> (at most <paramref name="limit"/>), and every commit overlapping them.</summary>
    Task<LogPage> ReadAsync(string did, long afterSeq, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// The page of <see cref="ReadAsync"/> as the anchor serves it: the updates' texts packed as one UTF-8 block, with
    /// no record, string or hash text per update where the store can hand over its bytes as they are.
    /// </summary>
    async Task<PackedLogPage> ReadPackedAsync(string did, long afterSeq, int limit, CancellationToken cancellationToken = default)
    {
        var page = await ReadAsync(did, afterSeq, limit, cancellationToken).ConfigureAwait(false);
        return new PackedLogPage(StoredUpdateList.Pack(page.Updates, static u => u.Seq, static u => u.Json), page.Commits);
    }

    Task<LogBounds> GetBoundsAsync(string did, CancellationToken cancellationToken = default);

    /// <summary>Drops updates up to <paramref name="throughSeq"/> (at most the last seq) and the commits they end; documents stay.</summary>
    Task TruncateAsync(string did, long throughSeq, CancellationToken cancellationToken = default);

    /// <summary>
    /// True when <see cref="AppendAsync"/> refuses an append holding an update id the log retains, with
    /// <see cref="UpdateLogRepeatedUpdateException"/> and nothing written. The anchor then commits a batch without
    /// looking its ids up first and looks them up (<see cref="FindUpdatesAsync"/>) only when the append or the
    /// batch's checks refuse it: one round trip per commit instead of two on a database server.
    /// </summary>
    bool RefusesRetainedUpdateIds => false;

    /// <summary>The retained updates among these ids (one round trip per batch), for idempotent retries.</summary>
    Task<IReadOnlyDictionary<string, LoggedUpdate>> FindUpdatesAsync(string did, IReadOnlyCollection<string> updateIds, CancellationToken cancellationToken = default);

    Task<StoredDocument?> ReadDocumentAsync(string did, string path, CancellationToken cancellationToken = default);

    /// <summary>Every current document of a DID, in no particular order (to build a snapshot), streamed.</summary>
    IAsyncEnumerable<StoredDocument> ReadDocumentsAsync(string did, CancellationToken cancellationToken = default);

    /// <summary>
    /// Every current document's path and tree value without its JSON, in no particular order, streamed: all an
    /// activation needs to rebuild the tree, at a fraction of the bytes of <see cref="ReadDocumentsAsync"/>.
    /// </summary>
    IAsyncEnumerable<DocumentLeaf> ReadLeavesAsync(string did, CancellationToken cancellationToken = default);

    /// <summary>Removes everything of a DID.</summary>
    Task DeleteAsync(string did, CancellationToken cancellationToken = default);
}

/// <summary>One committed update: its JSON as stored (with seq and merkleProof filled in), its update hash, and the root right after it.</summary>
public sealed record LoggedUpdate(long Seq, string UpdateId, string UpdateHash, string Root, string Json);

public sealed record LoggedCommit(long FromSeq, long ToSeq, string Json);

/// <summary>The document at <see cref="Path"/> after update <see cref="Seq"/>: its JSON text and tree value, or deleted (both null).</summary>
public sealed record DocumentChange(string Path, string? Json, byte[]? Value, long Seq);

public sealed record LogAppend(IReadOnlyList<LoggedUpdate> Updates, LoggedCommit Commit, IReadOnlyList<DocumentChange> Documents);

public sealed record LogPage(IReadOnlyList<LoggedUpdate> Updates, IReadOnlyList<LoggedCommit> Commits);

/// <summary>A <see cref="LogPage"/> with only what a reader of the log needs of each update: its seq and its text, packed.</summary>
public sealed record PackedLogPage(StoredUpdateList Updates, IReadOnlyList<LoggedCommit> Commits);

/// <summary>The log holds seqs <see cref="FirstRetainedSeq"/>…<see cref="LastSeq"/> (empty when first &gt; last).</summary>
public sealed record LogBounds(long FirstRetainedSeq, long LastSeq);

public sealed record StoredDocument(string Path, string Json, byte[] Value, long Seq);

/// <summary>An append that does not continue the log (another activation appended first): nothing was written.</summary>
public sealed class UpdateLogConflictException(string message) : Exception(message);

/// <summary>An append holding an update id the log retains (a log that <see cref="IUpdateLog.RefusesRetainedUpdateIds"/>): nothing was written.</summary>
public sealed class UpdateLogRepeatedUpdateException(string message) : Exception(message);
