using System.IO.Compression;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Vivim.Client.Http;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;

namespace Vivim.Tests.Client.Wire;

/// <summary>The WebSocket sync channel's frames: JSON text, gzip binary, strict messages and bounded sizes.</summary>
public sealed class SyncChannelCodecTests
{
    [Fact]
    public void Hello_and_ack_are_the_api_shapes()
    {
        Assert.Equal("""{"type":"hello","cursor":12,"maxBatchSize":100,"compression":true}""", JavaScriptJson.Stringify(SyncChannelCodec.Hello(12, 100, compression: true)));
        Assert.Equal("""{"type":"ack","seq":7}""", JavaScriptJson.Stringify(SyncChannelCodec.Ack(7)));
    }

    [Theory]
    [InlineData(false, WebSocketMessageType.Text)]
    [InlineData(true, WebSocketMessageType.Binary)]
    public void A_batch_survives_the_frame_and_parses_into_verified_protocol_records(bool compress, WebSocketMessageType expectedType)
    {
        using var anchor = new TestAnchor();
        anchor.Set(("memoryIndex/notes/1", """{"text":"hello"}"""), ("contentManifest/posts/1", """{"cid":"bafy"}"""));
        anchor.Set(("memoryIndex/notes/2", """{"text":"again"}"""));
        var page = anchor.Page(0, 10);
        var message = new JsonObject
        {
            ["type"] = "batch",
            ["updates"] = new JsonArray([.. page.Updates.Select(u => (JsonNode)ProtocolModel.ToJsonObject(u))]),
            ["commits"] = new JsonArray([.. page.Commits.Select(c => (JsonNode)ProtocolModel.ToJsonObject(c))]),
            ["headSeq"] = page.HeadSeq,
        };

        var (payload, type) = SyncChannelCodec.Encode(message, compress);
        Assert.Equal(expectedType, type);
        if (compress)
        {
            Assert.Equal(JavaScriptJson.StringifyToUtf8(message), Gunzip(payload));
        }

        var batch = Assert.IsType<BatchMessage>(SyncChannelCodec.Parse(SyncChannelCodec.Decode(payload, type)));
        Assert.Equal(page.Updates.Select(ProtocolModel.ToJson), batch.Updates.Select(ProtocolModel.ToJson));
        Assert.Equal(page.Commits.Select(ProtocolModel.ToJson), batch.Commits.Select(ProtocolModel.ToJson));
        Assert.Equal(3, batch.HeadSeq);
    }

    [Fact]
    public void Server_messages_parse_by_type()
    {
        Assert.Equal(new WelcomeMessage(5, 4), Parse("""{"type":"welcome","headSeq":5,"maxInFlight":4}"""));
        Assert.Equal(new HeadMessage(9), Parse("""{"type":"head","headSeq":9}"""));
        Assert.Equal(new ResyncMessage("cursor-behind-retention"), Parse("""{"type":"resync","reason":"cursor-behind-retention"}"""));
        Assert.Equal(new ErrorMessage("bad-ack", "ack beyond what was sent"), Parse("""{"type":"error","code":"bad-ack","message":"ack beyond what was sent"}"""));
    }

    [Theory]
    [InlineData("""{"type":"welcome","headSeq":-1,"maxInFlight":4}""")]
    [InlineData("""{"type":"head","headSeq":1.5}""")]
    [InlineData("""{"type":"head"}""")]
    [InlineData("""{"type":"batch","updates":[{"not":"an update"}],"commits":[],"headSeq":1}""")]
    [InlineData("""{"type":"batch","updates":{},"commits":[],"headSeq":1}""")]
    [InlineData("""{"type":"surprise"}""")]
    [InlineData("""{"headSeq":1}""")]
    public void Misshapen_messages_are_refused_with_a_stable_code(string json)
    {
        var error = Assert.Throws<SyncChannelException>(() => Parse(json));
        Assert.Equal("invalid-message", error.Code);
    }

    [Fact]
    public void Duplicate_keys_and_non_json_are_refused()
    {
        Assert.Equal("invalid-json", Assert.Throws<SyncChannelException>(() => SyncChannelCodec.Decode("""{"type":"head","type":"head","headSeq":1}"""u8, WebSocketMessageType.Text)).Code);
        Assert.Equal("invalid-json", Assert.Throws<SyncChannelException>(() => SyncChannelCodec.Decode("nope"u8, WebSocketMessageType.Text)).Code);
        Assert.Equal("invalid-gzip", Assert.Throws<SyncChannelException>(() => SyncChannelCodec.Decode("not gzip"u8, WebSocketMessageType.Binary)).Code);
    }

    [Fact]
    public void A_gzip_bomb_stops_at_the_limit_instead_of_filling_memory()
    {
        // 64 MiB of spaces compress to well under 100 KiB; decompressing must stop at the 16 MiB limit.
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var chunk = new byte[1024 * 1024];
            chunk.AsSpan().Fill((byte)' ');
            for (var i = 0; i < 64; i++)
            {
                gzip.Write(chunk);
            }
        }

        Assert.True(buffer.Length < 1024 * 1024);
        var error = Assert.Throws<SyncChannelException>(() => SyncChannelCodec.Decode(buffer.ToArray(), WebSocketMessageType.Binary));
        Assert.Equal("too-large", error.Code);
    }

    [Fact]
    public void A_text_frame_over_the_limit_is_refused()
    {
        var big = Encoding.UTF8.GetBytes("{\"type\":\"head\",\"pad\":\"" + new string('x', 2000) + "\"}");
        Assert.Equal("too-large", Assert.Throws<SyncChannelException>(() => SyncChannelCodec.Decode(big, WebSocketMessageType.Text, maxBytes: 1024)).Code);
    }

    [Fact]
    public async Task Receiving_reassembles_fragments_and_refuses_a_message_over_the_limit()
    {
        // Two ends of a real WebSocket (RFC 6455 framing) over a loopback TCP connection.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(System.Net.IPAddress.Loopback, ((System.Net.IPEndPoint)listener.LocalEndpoint).Port);
        using var server = await listener.AcceptTcpClientAsync();
        using var serverSocket = WebSocket.CreateFromStream(server.GetStream(), new WebSocketCreationOptions { IsServer = true });
        using var clientSocket = WebSocket.CreateFromStream(client.GetStream(), new WebSocketCreationOptions { IsServer = false });

        var json = Encoding.UTF8.GetBytes("""{"type":"head","headSeq":42}""");
        await serverSocket.SendAsync(json.AsMemory(0, 10), WebSocketMessageType.Text, endOfMessage: false, default);
        await serverSocket.SendAsync(json.AsMemory(10), WebSocketMessageType.Text, endOfMessage: true, default);
        var frame = await SyncChannelCodec.ReceiveAsync(clientSocket, 1024, default);
        Assert.Equal(new HeadMessage(42), SyncChannelCodec.Parse(SyncChannelCodec.Decode(frame!.Value.Payload, frame.Value.Type)));

        await serverSocket.SendAsync(new byte[4096], WebSocketMessageType.Binary, endOfMessage: true, default);
        Assert.Equal("too-large", (await Assert.ThrowsAsync<SyncChannelException>(() => SyncChannelCodec.ReceiveAsync(clientSocket, 1024, default))).Code);
    }

    private static SyncChannelMessage Parse(string json) => SyncChannelCodec.Parse(SyncChannelCodec.Decode(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text));

    private static byte[] Gunzip(byte[] payload)
    {
        using var input = new GZipStream(new MemoryStream(payload), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }
}
