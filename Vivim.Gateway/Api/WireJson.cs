using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Vivim.Anchors;
using Vivim.Clones;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Gateway.Api;

/// <summary>
/// The JSON shapes of what the gateway sends clones and owners, built in one place so that a page, a receipt or a
/// sync message looks the same over HTTP, the WebSocket channel and the libp2p <c>/vivim/*</c> protocols. Records go
/// in the SDK's JSON (<see cref="ProtocolModel"/>); transports only frame and encode.
/// </summary>
public static class WireJson
{
    /// <summary>
    /// <c>{updates, commits, headSeq}</c> as UTF-8: a page of the log, and (with <paramref name="type"/> <c>batch</c>)
    /// a live batch. The updates are the log's text, written as they are: nothing re-shapes them on the way out.
    /// </summary>
    public static byte[] Page(IReadOnlyList<StoredUpdate> updates, IReadOnlyList<Commit> commits, long headSeq, string? type = null)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true }))
        {
            writer.WriteStartObject();
            if (type is not null)
            {
                writer.WriteString("type", type);
            }

            writer.WriteStartArray("updates");
            if (updates is StoredUpdateList packed)
            {
                // The anchor's page is already UTF-8: copy each update's bytes rather than decode and re-encode them.
                for (var i = 0; i < packed.Count; i++)
                {
                    writer.WriteRawValue(packed.Utf8(i), skipInputValidation: true);
                }
            }
            else
            {
                foreach (var update in updates)
                {
                    writer.WriteRawValue(update.Json, skipInputValidation: true);
                }
            }

            writer.WriteEndArray();
            writer.WriteStartArray("commits");
            foreach (var commit in commits)
            {
                writer.WriteRawValue(ProtocolModel.ToJson(commit), skipInputValidation: true);
            }

            writer.WriteEndArray();
            writer.WriteNumber("headSeq", headSeq);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary><c>{receipts: [{updateId, seq, root}]}</c>: what a committed batch of updates returns.</summary>
    public static JsonObject Receipts(IReadOnlyList<UpdateReceipt> receipts) => new()
    {
        ["receipts"] = new JsonArray([.. receipts.Select(r => (JsonNode)new JsonObject { ["updateId"] = r.UpdateId, ["seq"] = r.Seq, ["root"] = r.Root })]),
    };

    /// <summary><c>{path, document, seq, root, merkleProof}</c>: one document with its inclusion proof.</summary>
    public static JsonObject Document(DocumentProof document) => new()
    {
        ["path"] = document.Path,
        ["document"] = document.Document.Parse(JsonLimits.Snapshot),
        ["seq"] = document.Seq,
        ["root"] = document.Root,
        ["merkleProof"] = document.MerkleProof,
    };

    /// <summary>The SDK's SyncStatus with the clone's <c>cursor</c>, the parent's <c>headSeq</c> and the clone's <c>trustLevel</c>.</summary>
    /// <summary>A relay's answer about a peer: <c>{cloneId, trustLevel, permissions}</c>.</summary>
    public static JsonObject PeerTrust(PeerTrust trust)
    {
        ArgumentNullException.ThrowIfNull(trust);
        return new JsonObject
        {
            ["cloneId"] = trust.CloneId,
            ["trustLevel"] = JsonSerializer.SerializeToNode(trust.TrustLevel, ProtocolModel.Options),
            ["permissions"] = new JsonArray([.. trust.Permissions.Select(p => (JsonNode)JsonValue.Create(p))]),
        };
    }

    public static JsonObject CloneStatus(CloneStatus status)
    {
        var json = ProtocolModel.ToJsonObject(status.Status);
        json["cursor"] = status.Cursor;
        json["headSeq"] = status.HeadSeq;
        json["trustLevel"] = JsonSerializer.SerializeToNode(status.TrustLevel, ProtocolModel.Options);
        return json;
    }

    /// <summary>The sync channel's server messages: <c>{type, …}</c>.</summary>
    public static class SyncChannel
    {
        public static byte[] Batch(IReadOnlyList<StoredUpdate> updates, IReadOnlyList<Commit> commits, long headSeq) =>
            Page(updates, commits, headSeq, "batch");

        public static JsonObject Welcome(long headSeq, int maxInFlight) => new() { ["type"] = "welcome", ["headSeq"] = headSeq, ["maxInFlight"] = maxInFlight };

        public static JsonObject Head(long headSeq) => new() { ["type"] = "head", ["headSeq"] = headSeq };

        public static JsonObject Resync(string reason) => new() { ["type"] = "resync", ["reason"] = reason };

        public static JsonObject Error(string code, string message) => new() { ["type"] = "error", ["code"] = code, ["message"] = message };
    }
}
