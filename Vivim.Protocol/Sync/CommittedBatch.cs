using Vivim.Protocol.Model;

namespace Vivim.Protocol.Sync;

/// <summary>A commit and the updates it covers, in seq order.</summary>
[GenerateSerializer, Immutable, Alias("vivim.CommittedBatch")]
public sealed record CommittedBatch(string Did, Commit Commit, IReadOnlyList<StateUpdate> Updates) : DidEvent(Did)
{
    /// <summary>The updates are exactly the commit's seqs (anything else on the stream is ignored).</summary>
    public bool IsWhole => Updates.Count > 0 && Updates.Count == Commit.ToSeq - Commit.FromSeq + 1;
}
