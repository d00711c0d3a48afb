using Vivim.Protocol.Model;

namespace Vivim.Client.Transports;

/// <summary>
/// What a live session delivered: updates in seq order, every commit overlapping them, and the parent's head. When
/// <see cref="MayEndInsideCommit"/> (the batch was cut at the session's batch size, like a full page) the last update
/// may stop inside its commit, since every root of a commit is signed; otherwise the last commit must be complete.
/// </summary>
public sealed record LiveUpdates(IReadOnlyList<StateUpdate> Updates, IReadOnlyList<Commit> Commits, long HeadSeq, bool MayEndInsideCommit);
