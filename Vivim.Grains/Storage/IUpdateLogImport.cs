namespace Vivim.Storage;

/// <summary>
/// A log that can take another store's log of a DID as it is (<c>Vivim.Silo copy-storage</c>): the retained segment
/// with its first seq where retention left it, its commits and the current documents, written without re-appending.
/// </summary>
public interface IUpdateLogImport
{
    /// <summary>
    /// Writes <paramref name="segment"/> as the whole log of <paramref name="did"/>, visible only once complete. Throws
    /// <see cref="UpdateLogConflictException"/> when the DID already has a log here (nothing is written), and
    /// <see cref="ArgumentException"/> for a segment whose seqs are not consecutive or not covered by its commits.
    /// Leftovers of an interrupted import (rows without a head) are removed first.
    /// </summary>
    Task ImportAsync(string did, LogSegment segment, CancellationToken cancellationToken = default);
}

/// <summary>
/// A DID's log as another store holds it: updates <see cref="Bounds"/>.FirstRetainedSeq…LastSeq, every commit ending at
/// or after the first retained seq (the first may begin below it, where retention cut through it), and the documents.
/// </summary>
public sealed record LogSegment(LogBounds Bounds, IReadOnlyList<LoggedUpdate> Updates, IReadOnlyList<LoggedCommit> Commits, IReadOnlyList<StoredDocument> Documents)
{
    /// <exception cref="ArgumentException">Seqs missing or out of order, a commit gap, or an update no commit covers.</exception>
    public void Validate(string did)
    {
        var (first, last) = (Bounds.FirstRetainedSeq, Bounds.LastSeq);
        if (first < 1 || last < first - 1)
        {
            throw new ArgumentException($"The log of {did} has bounds {first}..{last}.");
        }

        if (Updates.Count != last - first + 1)
        {
            throw new ArgumentException($"The log of {did} holds {Updates.Count} updates for seqs {first}..{last}.");
        }

        for (var i = 0; i < Updates.Count; i++)
        {
            if (Updates[i].Seq != first + i)
            {
                throw new ArgumentException($"The log of {did} has seq {Updates[i].Seq} where {first + i} belongs.");
            }
        }

        if (Updates.Count == 0)
        {
            if (Commits.Count > 0)
            {
                throw new ArgumentException($"The log of {did} retains no update but {Commits.Count} commit(s).");
            }

            return;
        }

        // The commits tile first..last: the first one reaches first (it may start below), each next one starts right after.
        var expectedFrom = (long?)null;
        foreach (var commit in Commits)
        {
            if (commit.ToSeq < commit.FromSeq || (expectedFrom is { } from && commit.FromSeq != from) || (expectedFrom is null && (commit.FromSeq > first || commit.ToSeq < first)))
            {
                throw new ArgumentException($"The log of {did} has a commit {commit.FromSeq}..{commit.ToSeq} that does not continue its commits.");
            }

            expectedFrom = commit.ToSeq + 1;
        }

        if (expectedFrom != last + 1)
        {
            throw new ArgumentException($"The commits of {did} end at {(expectedFrom ?? first) - 1}, its updates at {last}.");
        }
    }
}
