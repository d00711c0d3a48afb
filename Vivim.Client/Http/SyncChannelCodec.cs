using System.IO.Compression;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Vivim.Protocol;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Client.Http;

/// <summary>
/// Frames of the WebSocket sync channel: JSON in text frames, or with compression the gzip of the same JSON in binary
/// frames. Every read is bounded: a message (and a decompressed message) larger than the limit (16 MiB by default) is
/// refused with a <see cref="SyncChannelException"/>.
/// </summary>
public static class SyncChannelCodec
{
    /// <summary>16 MiB: a batch of 100 updates at the 256 KiB document limit fits twice over.</summary>
    public const int DefaultMaxMessageBytes = 16 * 1024 * 1024;

    public static JsonObject Hello(long cursor, int maxBatchSize, bool compression) => new()
    {
        ["type"] = "hello",
        ["cursor"] = cursor,
        ["maxBatchSize"] = maxBatchSize,
        ["compression"] = compression,
    };

    public static JsonObject Ack(long seq) => new() { ["type"] = "ack", ["seq"] = seq };

    /// <summary>The frame for a message: text JSON, or binary gzip of it.</summary>
    public static (byte[] Payload, WebSocketMessageType Type) Encode(JsonObject message, bool compress)
    {
        ArgumentNullException.ThrowIfNull(message);
        var json = JavaScriptJson.StringifyToUtf8(message);
        if (!compress)
        {
            return (json, WebSocketMessageType.Text);
        }

        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(json);
        }

        return (buffer.ToArray(), WebSocketMessageType.Binary);
    }

    /// <summary>The JSON object a frame holds; binary frames are gunzipped, never beyond <paramref name="maxBytes"/>.</summary>
    public static JsonObject Decode(ReadOnlySpan<byte> payload, WebSocketMessageType type, int maxBytes = DefaultMaxMessageBytes)
    {
        byte[] json;
        if (type == WebSocketMessageType.Binary)
        {
            json = Gunzip(payload, maxBytes);
        }
        else if (type == WebSocketMessageType.Text)
        {
            json = payload.Length <= maxBytes ? payload.ToArray() : throw TooLarge(maxBytes);
        }
        else
        {
            throw new SyncChannelException("frame", "A close frame holds no message.");
        }

        try
        {
            return ProtocolJson.ParseObject(json, new JsonLimits(maxBytes, JsonLimits.Default.MaxDepth));
        }
        catch (ProtocolException e)
        {
            throw new SyncChannelException("invalid-json", $"A sync message is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>Reads what the gateway sent; an unknown <c>type</c> or a misshapen message is a <see cref="SyncChannelException"/>.</summary>
    public static SyncChannelMessage Parse(JsonObject message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var type = GatewayHttp.Text(message, "type");
        try
        {
            return type switch
            {
                "welcome" => new WelcomeMessage(Integer(message, "headSeq"), checked((int)Integer(message, "maxInFlight"))),
                "batch" => new BatchMessage(
                    Objects(message, "updates").Select(ReceivedUpdates.FromJsonObject).ToList(),
                    Objects(message, "commits").Select(ProtocolModel.FromJsonObject<Commit>).ToList(),
                    Integer(message, "headSeq")),
                "head" => new HeadMessage(Integer(message, "headSeq")),
                "resync" => new ResyncMessage(GatewayHttp.Text(message, "reason") ?? string.Empty),
                "error" => new ErrorMessage(GatewayHttp.Text(message, "code") ?? "error", GatewayHttp.Text(message, "message") ?? string.Empty),
                null => throw new SyncChannelException("invalid-message", "A sync message has no type."),
                _ => throw new SyncChannelException("invalid-message", $"Unknown sync message type \"{type}\"."),
            };
        }
        catch (Exception e) when (e is ProtocolException or OverflowException)
        {
            throw new SyncChannelException("invalid-message", $"A \"{type}\" message is misshapen: {e.Message}", e);
        }
    }

    /// <summary>Receives one whole message (all its fragments), refusing more than <paramref name="maxBytes"/>; null when the peer closed.</summary>
    public static async Task<(byte[] Payload, WebSocketMessageType Type)?> ReceiveAsync(WebSocket socket, int maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(socket);
        var buffer = new byte[16 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            if (message.Length + result.Count > maxBytes)
            {
                throw TooLarge(maxBytes);
            }

            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return (message.ToArray(), result.MessageType);
            }
        }
    }

    private static byte[] Gunzip(ReadOnlySpan<byte> payload, int maxBytes)
    {
        try
        {
            using var input = new MemoryStream(payload.ToArray());
            using var gzip = new GZipStream(input, CompressionMode.Decompress);
            using var output = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = gzip.Read(chunk)) > 0)
            {
                if (output.Length + read > maxBytes)
                {
                    throw TooLarge(maxBytes); // a gzip bomb stops here, not in memory
                }

                output.Write(chunk, 0, read);
            }

            return output.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new SyncChannelException("invalid-gzip", "A binary sync frame is not gzip.", e);
        }
    }

    private static SyncChannelException TooLarge(int maxBytes) => new("too-large", $"A sync message exceeds {maxBytes} bytes.");

    private static long Integer(JsonObject json, string member) =>
        json[member] is JsonValue value && value.GetValueKind() == System.Text.Json.JsonValueKind.Number && JavaScriptJson.ToDouble(value) is var number && number == Math.Floor(number) && number >= 0 && number <= 9007199254740991
            ? (long)number
            : throw new SyncChannelException("invalid-message", $"\"{member}\" must be a non-negative integer.");

    private static IEnumerable<JsonObject> Objects(JsonObject json, string member) =>
        json[member] is JsonArray items
            ? items.Select(i => i as JsonObject ?? throw new SyncChannelException("invalid-message", $"\"{member}\" holds a non-object."))
            : throw new SyncChannelException("invalid-message", $"\"{member}\" must be an array.");
}

/// <summary>The sync channel carried something the protocol does not allow; <see cref="Code"/> is stable.</summary>
public sealed class SyncChannelException(string code, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Code { get; } = code;
}
