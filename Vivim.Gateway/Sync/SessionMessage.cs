using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Gateway.Sync;

/// <summary>What a live clone session sends to its clone, in order.</summary>
public abstract record SessionMessage;

/// <summary>Updates in seq order (never more than the session's batch size) with every commit that overlaps them.</summary>
public sealed record SessionBatch(IReadOnlyList<StoredUpdate> Updates, IReadOnlyList<Commit> Commits, long HeadSeq) : SessionMessage
{
    public long LastSeq => Updates[^1].Seq;

    /// <summary>
    /// A live commit as it was pushed (not read back from the log) has its timestamp here, for the delivery latency;
    /// null for a backlog batch. Taken once for every session the batch goes to.
    /// </summary>
    public long? CommittedAtMs { get; init; }

    /// <summary>A live commit's updates as text, once for every session of the DID.</summary>
    public static SessionBatch Live(CommittedBatch batch) =>
        new([.. batch.Updates.Select(u => new StoredUpdate(u.Seq!.Value, ProtocolModel.ToJson(u)))], [batch.Commit], batch.Commit.ToSeq) { CommittedAtMs = batch.Commit.Timestamp };
}

/// <summary>Sent when nothing else was for a while, so a clone notices it is behind even if an event was lost.</summary>
public sealed record SessionHead(long HeadSeq) : SessionMessage;

/// <summary>The cursor is behind the retained log: take a new snapshot. The session ends.</summary>
public sealed record SessionResync(string Reason) : SessionMessage;

/// <summary>The session ended; <paramref name="Description"/> says why in words (a WebSocket close reason).</summary>
public sealed record SessionClosed(SessionCloseReason Reason, string Description) : SessionMessage;

/// <summary>Nothing to send: wakes the socket's reader of a session's messages so it notices that it is to stop.</summary>
internal sealed record SessionWake : SessionMessage
{
    public static readonly SessionWake Instance = new();

    private SessionWake()
    {
    }
}
