using Vivim.Protocol.Model;

namespace Vivim.Client.Http;

/// <summary>A clone's status as the gateway reports it (<c>GET /v1/clones/{cloneId}/status</c>).</summary>
public sealed record RemoteCloneStatus(SyncStatus Status, long Cursor, long HeadSeq);
