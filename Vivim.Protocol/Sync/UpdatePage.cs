using Vivim.Protocol.Model;

namespace Vivim.Protocol.Sync;

/// <summary>
/// A page of committed updates (each with <c>seq</c> and <c>merkleProof</c>) and every commit overlapping it. When
/// <see cref="ResyncRequired"/> the cursor is behind the retained log and the clone must take a new snapshot.
/// </summary>
[GenerateSerializer, Immutable, Alias("vivim.UpdatePage")]
public sealed record UpdatePage(IReadOnlyList<StateUpdate> Updates, IReadOnlyList<Commit> Commits, long HeadSeq, bool ResyncRequired = false);
