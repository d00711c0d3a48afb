using Vivim.Protocol.Model;

namespace Vivim.Client.Http;

/// <summary>What the gateway sends on a clone's WebSocket sync channel (docs/api.md §WebSocket sync channel).</summary>
public abstract record SyncChannelMessage;

/// <summary>The session is open: the anchor's head and how many unacknowledged batches the gateway allows.</summary>
public sealed record WelcomeMessage(long HeadSeq, int MaxInFlight) : SyncChannelMessage;

/// <summary>Updates in seq order with every commit overlapping them.</summary>
public sealed record BatchMessage(IReadOnlyList<StateUpdate> Updates, IReadOnlyList<Commit> Commits, long HeadSeq) : SyncChannelMessage;

/// <summary>A heartbeat carrying the head, so a clone notices it is behind when an event was lost.</summary>
public sealed record HeadMessage(long HeadSeq) : SyncChannelMessage;

/// <summary>The cursor cannot be served any more: take a new snapshot. The gateway closes the socket.</summary>
public sealed record ResyncMessage(string Reason) : SyncChannelMessage;

/// <summary>A protocol error; the gateway closes the socket.</summary>
public sealed record ErrorMessage(string Code, string Message) : SyncChannelMessage;
