using System.Security.Cryptography;
using System.Text;

namespace Vivim.Storage.Copy;

/// <summary>A DID's whole log read through <see cref="IUpdateLog"/>, and a digest of it that two stores can compare.</summary>
public static class LogExport
{
    private const int PageSize = 500;

    /// <summary>The retained updates, the commits ending in the retained range (each once) and the current documents.</summary>
    public static async Task<LogSegment> ReadAsync(IUpdateLog log, string did, CancellationToken cancellationToken)
    {
        var bounds = await log.GetBoundsAsync(did, cancellationToken).ConfigureAwait(false);
        var updates = new List<LoggedUpdate>();
        var commits = new SortedDictionary<long, LoggedCommit>();
        var after = bounds.FirstRetainedSeq - 1;
        while (after < bounds.LastSeq)
        {
            var page = await log.ReadAsync(did, after, PageSize, cancellationToken).ConfigureAwait(false);
            if (page.Updates.Count == 0)
            {
                throw new InvalidOperationException($"The log of {did} ends at seq {after}, its head says {bounds.LastSeq}.");
            }

            updates.AddRange(page.Updates);
            foreach (var commit in page.Commits)
            {
                commits[commit.ToSeq] = commit;
            }

            after = page.Updates[^1].Seq;
        }

        var documents = new List<StoredDocument>();
        await foreach (var document in log.ReadDocumentsAsync(did, cancellationToken).ConfigureAwait(false))
        {
            documents.Add(document);
        }

        documents.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return new LogSegment(bounds, updates, [.. commits.Values.Where(c => c.ToSeq >= bounds.FirstRetainedSeq)], documents);
    }

    /// <summary>What the verification compares: bounds, the root after the last retained update, counts, and a hash of everything.</summary>
    public static LogDigest Digest(LogSegment segment)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string text)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(text));
            hash.AppendData([0]);
        }

        foreach (var u in segment.Updates)
        {
            Add($"u{u.Seq}");
            Add(u.UpdateId);
            Add(u.UpdateHash);
            Add(u.Root);
            Add(u.Json);
        }

        foreach (var c in segment.Commits)
        {
            Add($"c{c.FromSeq}-{c.ToSeq}");
            Add(c.Json);
        }

        foreach (var d in segment.Documents.OrderBy(d => d.Path, StringComparer.Ordinal))
        {
            Add($"d{d.Seq}");
            Add(d.Path);
            Add(d.Json);
            Add(Convert.ToHexStringLower(d.Value));
        }

        return new LogDigest(
            segment.Bounds,
            segment.Updates.Count > 0 ? segment.Updates[^1].Root : "",
            segment.Commits.Count,
            segment.Documents.Count,
            Convert.ToHexStringLower(hash.GetHashAndReset()));
    }
}

/// <summary>A log's bounds, head root (after its last retained update; empty when none is retained), commit and document counts, and content hash.</summary>
public sealed record LogDigest(LogBounds Bounds, string HeadRoot, int Commits, int Documents, string ContentHash)
{
    public override string ToString() =>
        $"seqs {Bounds.FirstRetainedSeq}..{Bounds.LastSeq}, root {(HeadRoot.Length > 0 ? HeadRoot[..16] : "-")}, {Commits} commits, {Documents} documents";
}
