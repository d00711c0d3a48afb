using Vivim.Protocol.Model;

namespace Vivim.Feeds;

/// <summary>What flows on a DID's stream. A hint only: consumers detect gaps and duplicates by seq and fill from the log.</summary>
[GenerateSerializer, Immutable, Alias("vivim.DidEvent")]
public abstract record DidEvent(string Did);

/// <summary>A commit and the updates it covers, in seq order.</summary>
[GenerateSerializer, Immutable, Alias("vivim.CommittedBatch")]
public sealed record CommittedBatch(string Did, Commit Commit, IReadOnlyList<StateUpdate> Updates) : DidEvent(Did)
{
    /// <summary>The updates are exactly the commit's seqs (anything else on the stream is ignored).</summary>
    public bool IsWhole => Updates.Count > 0 && Updates.Count == Commit.ToSeq - Commit.FromSeq + 1;
}

/// <summary>A clone lost access (suspended, removed or deregistered): its live sessions close at once.</summary>
[GenerateSerializer, Immutable, Alias("vivim.CloneAccessRevoked")]
public sealed record CloneAccessRevoked(string Did, string CloneId, string Reason) : DidEvent(Did);
