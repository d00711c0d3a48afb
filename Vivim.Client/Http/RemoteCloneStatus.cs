using System.Net;
using System.Text.Json.Nodes;
using Vivim.Protocol.Model;

namespace Vivim.Client.Http;

/// <summary>A clone's status as the gateway reports it (<c>GET /v1/clones/{cloneId}/status</c>, or <c>status</c> on <c>/vivim/sync</c>).</summary>
public sealed record RemoteCloneStatus(SyncStatus Status, long Cursor, long HeadSeq)
{
    /// <summary>Reads the gateway's status answer; <paramref name="status"/> is what a malformed one is reported with.</summary>
    /// <exception cref="GatewayException">A member is missing or of the wrong type.</exception>
    public static RemoteCloneStatus FromJson(JsonObject json, HttpStatusCode status)
    {
        ArgumentNullException.ThrowIfNull(json);
        return new RemoteCloneStatus(
            new SyncStatus(
                json["connected"] is JsonValue c && c.TryGetValue<bool>(out var connected) && connected,
                GatewayHttp.Text(json, "parentDid") ?? string.Empty,
                json["lastSyncAt"] is JsonValue ? GatewayHttp.Integer(json, "lastSyncAt", status) : 0,
                GatewayHttp.Integer(json, "pendingUpdates", status),
                GatewayHttp.Text(json, "stateHash") ?? string.Empty),
            GatewayHttp.Integer(json, "cursor", status),
            GatewayHttp.Integer(json, "headSeq", status));
    }
}
