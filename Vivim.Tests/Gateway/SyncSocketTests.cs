using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Vivim.Client.Replica;
using Vivim.Protocol.Http;
using Vivim.Protocol.Json;
using Vivim.Tests.Support;
using static Vivim.Tests.Gateway.GatewayTestKit;

namespace Vivim.Tests.Gateway;

/// <summary>The WebSocket sync channel: backlog then live, acks, the in-flight bound, resume, revocation, tickets.</summary>
[Collection(GatewayCollection.Name)]
public sealed class SyncSocketTests(GatewayFixture gateway)
{
    [Fact]
    public async Task Backlog_then_live_in_batches_and_a_clone_disconnected_mid_stream_resumes_with_no_gap_and_no_duplicate()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        var clone = await RegisterAsync(gateway, did);
        for (var i = 0; i < 5; i++)
        {
            await WriteAsync(gateway, apiKey, did, Enumerable.Range(0, 10).Select(j => ($"memoryIndex/n{i}-{j}", $"{j}")).ToArray());
        }

        var verifier = Verifier(did);
        var replica = new CloneReplica();
        verifier.LoadSnapshot(replica, clone.Snapshot); // seq 0

        // First connection: hello at 0 with batches of 7; apply 3 batches, ack them, then drop the connection.
        using (var socket = await ConnectAsync(gateway, clone))
        {
            await SendAsync(socket, new JsonObject { ["type"] = "hello", ["cursor"] = 0, ["maxBatchSize"] = 7, ["compression"] = false });
            var welcome = await ReceiveAsync(socket);
            Assert.Equal("welcome", welcome!["type"]!.GetValue<string>());
            Assert.Equal(50, welcome["headSeq"]!.GetValue<double>());
            Assert.True(welcome["maxInFlight"]!.GetValue<double>() >= 1);
            for (var b = 0; b < 3; b++)
            {
                var batch = await NextBatchAsync(socket);
                Assert.True(batch["updates"]!.AsArray().Count <= 7);
                Apply(verifier, replica, batch);
                await SendAsync(socket, new JsonObject { ["type"] = "ack", ["seq"] = replica.Cursor });
            }

            socket.Abort(); // mid-stream, no close handshake
        }

        Assert.Equal(21, replica.Cursor);

        // Second connection resumes from the replica's cursor, with compression on; live writes follow the backlog.
        using (var socket = await ConnectAsync(gateway, clone))
        {
            await SendAsync(socket, new JsonObject { ["type"] = "hello", ["cursor"] = replica.Cursor, ["maxBatchSize"] = 100, ["compression"] = true });
            Assert.Equal("welcome", (await ReceiveAsync(socket))!["type"]!.GetValue<string>());
            var live = WriteAsync(gateway, apiKey, did, ("memoryIndex/live", "\"after\""));
            while (replica.Cursor < 51)
            {
                var batch = await NextBatchAsync(socket);
                var first = (long)batch["updates"]![0]!["seq"]!.GetValue<double>();
                Assert.Equal(replica.Cursor + 1, first); // no gap, no duplicate
                Apply(verifier, replica, batch);
                await SendAsync(socket, new JsonObject { ["type"] = "ack", ["seq"] = replica.Cursor });
            }

            await live;
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        }

        using var owner = gateway.CreateClient(apiKey);
        var node = JsonNode.Parse(await owner.GetStringAsync($"/v1/exit-nodes/{did}"))!;
        Assert.Equal(node["root"]!.GetValue<string>(), replica.Root);

        // The acknowledged cursor reached the Clone grain (sessions pass it on when they end).
        using var http = gateway.CreateClient();
        JsonObject? status = null;
        await Until.TrueAsync(
            async () =>
            {
                (_, status) = await GatewayTestKit.SendAsync(http, gateway.Signed(clone.Key, HttpMethod.Get, $"/v1/clones/{clone.CloneId}/status"));
                return status!["cursor"]!.GetValue<long>() == 51;
            },
            () => status?.ToJsonString() ?? "no status");
        Assert.Equal(replica.Root, status!["stateHash"]!.GetValue<string>());
    }

    [Fact]
    public async Task No_more_than_max_in_flight_batches_go_out_unacknowledged()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        var clone = await RegisterAsync(gateway, did);
        await WriteAsync(gateway, apiKey, did, Enumerable.Range(0, 20).Select(j => ($"memoryIndex/{j}", "1")).ToArray());

        using var socket = await ConnectAsync(gateway, clone);
        await SendAsync(socket, new JsonObject { ["type"] = "hello", ["cursor"] = 0, ["maxBatchSize"] = 1 });
        var maxInFlight = (int)(await ReceiveAsync(socket))!["maxInFlight"]!.GetValue<double>();
        var received = new List<JsonObject>();
        for (var i = 0; i < maxInFlight; i++)
        {
            received.Add(await NextBatchAsync(socket));
        }

        // Nothing more comes until an ack frees room.
        using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(700));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ReceiveAsync(socket, wait.Token));
        Assert.Equal(WebSocketState.Aborted, socket.State); // a cancelled receive aborts a ClientWebSocket
        Assert.Equal(maxInFlight, received.Count);
    }

    [Fact]
    public async Task Suspension_closes_the_socket_with_policy_violation_and_tickets_are_single_use()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        var clone = await RegisterAsync(gateway, did);

        // A browser's way in: a signed POST for a ticket, then the upgrade with ?ticket= and no headers.
        using var http = gateway.CreateClient();
        var (_, ticketBody) = await GatewayTestKit.SendAsync(http, gateway.Signed(clone.Key, HttpMethod.Post, $"/v1/clones/{clone.CloneId}/sync-ticket"));
        var ticket = ticketBody!["ticket"]!.GetValue<string>();
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(WebSocketUri(gateway, $"/v1/clones/{clone.CloneId}/sync?ticket={ticket}"), CancellationToken.None);
        await SendAsync(socket, new JsonObject { ["type"] = "hello", ["cursor"] = 0 });
        Assert.Equal("welcome", (await ReceiveAsync(socket))!["type"]!.GetValue<string>());

        using var reuse = new ClientWebSocket();
        var refused = await Assert.ThrowsAsync<WebSocketException>(() => reuse.ConnectAsync(WebSocketUri(gateway, $"/v1/clones/{clone.CloneId}/sync?ticket={ticket}"), CancellationToken.None));
        Assert.Contains("401", refused.Message, StringComparison.Ordinal);

        using var owner = gateway.CreateClient(apiKey);
        using (var suspend = await owner.PostAsync($"/v1/exit-nodes/{did}/clones/{clone.CloneId}/suspend", GatewayFixture.Json(new JsonObject())))
        {
            Assert.Equal(HttpStatusCode.OK, suspend.StatusCode);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await ReceiveAsync(socket, timeout.Token) is not null)
        {
        }

        Assert.Equal(WebSocketCloseStatus.PolicyViolation, socket.CloseStatus);
    }

    [Fact]
    public async Task A_clone_has_one_live_socket_each_new_one_replaces_the_last_with_a_session_replaced_error()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        var clone = await RegisterAsync(gateway, did);

        // One clone's credentials opening socket after socket: each welcome closes the one before.
        var sockets = new List<ClientWebSocket>();
        try
        {
            for (var i = 0; i < 5; i++)
            {
                var socket = await ConnectAsync(gateway, clone);
                sockets.Add(socket);
                await SendAsync(socket, new JsonObject { ["type"] = "hello", ["cursor"] = 0 });
                Assert.Equal("welcome", (await ReceiveAsync(socket))!["type"]!.GetValue<string>());
            }

            foreach (var replaced in sockets[..^1])
            {
                JsonObject? error = null;
                while (await ReceiveAsync(replaced) is { } message)
                {
                    error = message["type"]!.GetValue<string>() == "error" ? message : error;
                }

                Assert.Equal("session-replaced", error?["code"]?.GetValue<string>());
                Assert.Equal(WebSocketCloseStatus.PolicyViolation, replaced.CloseStatus);
                Assert.Equal("session-replaced", replaced.CloseStatusDescription);
            }

            // The last one is live: a write reaches it.
            await WriteAsync(gateway, apiKey, did, ("memoryIndex/after", "1"));
            Assert.Equal(1, (await NextBatchAsync(sockets[^1]))["headSeq"]!.GetValue<double>());
            Assert.Equal(WebSocketState.Open, sockets[^1].State);
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }
    }

    [Fact]
    public async Task Acks_in_any_valid_JSON_form_free_room_alike_and_a_malformed_one_ends_the_session_with_an_error()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        var clone = await RegisterAsync(gateway, did);
        await WriteAsync(gateway, apiKey, did, Enumerable.Range(0, 6).Select(j => ($"memoryIndex/{j}", "1")).ToArray());

        using var socket = await ConnectAsync(gateway, clone);
        await SendAsync(socket, new JsonObject { ["type"] = "hello", ["cursor"] = 0, ["maxBatchSize"] = 1 });
        var maxInFlight = (int)(await ReceiveAsync(socket))!["maxInFlight"]!.GetValue<double>();
        Assert.True(maxInFlight < 5, $"maxInFlight {maxInFlight}: the test needs batches held back");
        var seqs = new List<long>();
        for (var i = 0; i < maxInFlight; i++)
        {
            seqs.Add((long)(await NextBatchAsync(socket))["updates"]![0]!["seq"]!.GetValue<double>());
        }

        // The SDKs' exact form, then the same ack spaced and reordered: each frees room for exactly one more batch.
        string[] forms = ["{{\"type\":\"ack\",\"seq\":{0}}}", "{{ \"seq\" : {0} , \"type\" : \"ack\" }}"];
        foreach (var form in forms)
        {
            await SendTextAsync(socket, string.Format(CultureInfo.InvariantCulture, form, seqs[^maxInFlight]));
            seqs.Add((long)(await NextBatchAsync(socket))["updates"]![0]!["seq"]!.GetValue<double>());
        }

        Assert.Equal(Enumerable.Range(1, maxInFlight + 2).Select(i => (long)i), seqs);

        // A leading zero is not JSON: an error frame and a close, not an ack of seq 1.
        await SendTextAsync(socket, "{\"type\":\"ack\",\"seq\":01}");
        JsonObject? error = null;
        while (await ReceiveAsync(socket) is { } message)
        {
            error = message["type"]!.GetValue<string>() == "error" ? message : error;
        }

        Assert.Equal("invalid-message", error?["code"]?.GetValue<string>());
        Assert.Equal(WebSocketCloseStatus.ProtocolError, socket.CloseStatus);
    }

    [Theory]
    [InlineData("{\"type\":\"ack\",\"seq\":0}", 0L)]
    [InlineData("{\"type\":\"ack\",\"seq\":7}", 7L)]
    [InlineData("{\"type\":\"ack\",\"seq\":9007199254740991}", 9007199254740991L)]
    [InlineData("{\"type\":\"ack\",\"seq\":9007199254740992}", null)]
    [InlineData("{\"type\":\"ack\",\"seq\":01}", null)]
    [InlineData("{\"type\":\"ack\",\"seq\":-1}", null)]
    [InlineData("{\"type\":\"ack\",\"seq\":1.0}", null)]
    [InlineData("{\"type\":\"ack\",\"seq\":1e3}", null)]
    [InlineData("{\"type\":\"ack\",\"seq\":}", null)]
    [InlineData("{\"type\":\"ack\",\"seq\":12}}", null)]
    [InlineData("{\"type\":\"ack\",\"seq\":12 }", null)]
    [InlineData("{\"type\":\"ack\",\"seq\":12345678901234567}", null)]
    [InlineData("{\"seq\":3,\"type\":\"ack\"}", null)]
    public void The_plain_ack_reader_takes_only_what_the_general_parser_reads_as_the_same_ack(string text, long? expected)
    {
        var taken = Vivim.Gateway.Sync.SyncSocket.TryReadPlainAck(Encoding.UTF8.GetBytes(text), out var seq);
        Assert.Equal(expected is not null, taken);
        if (taken)
        {
            Assert.Equal(expected, seq);
            var parsed = ProtocolJson.ParseObject(Encoding.UTF8.GetBytes(text));
            Assert.Equal(2, parsed.Count);
            Assert.Equal("ack", parsed["type"]!.GetValue<string>());
            Assert.Equal(seq, parsed["seq"]!.GetValue<double>());
        }
    }

    private static Task SendTextAsync(ClientWebSocket socket, string text) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    internal static Uri WebSocketUri(GatewayFixture gateway, string target) => new($"ws://{gateway.BaseAddress.Authority}{target}");

    /// <summary>A signed upgrade, as a non-browser clone opens the channel.</summary>
    internal static async Task<ClientWebSocket> ConnectAsync(GatewayFixture gateway, RegisteredClone clone)
    {
        var target = $"/v1/clones/{clone.CloneId}/sync";
        var headers = HttpMessageSignature.Sign(clone.Key, "GET", target, [], hasBody: false, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader(HttpMessageSignature.SignatureInputHeader, headers.SignatureInput);
        socket.Options.SetRequestHeader(HttpMessageSignature.SignatureHeader, headers.Signature);
        await socket.ConnectAsync(WebSocketUri(gateway, target), CancellationToken.None);
        return socket;
    }

    internal static Task SendAsync(ClientWebSocket socket, JsonObject message) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);

    /// <summary>The next message (gzip binary frames inflated), or null once the server closed.</summary>
    internal static async Task<JsonObject?> ReceiveAsync(ClientWebSocket socket, CancellationToken token = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        while (true)
        {
            var result = await socket.ReceiveAsync(chunk, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            buffer.Write(chunk, 0, result.Count);
            if (result.EndOfMessage)
            {
                var bytes = result.MessageType == WebSocketMessageType.Binary
                    ? Vivim.Gateway.Sync.SyncFrames.Gunzip(buffer.ToArray(), 64 * 1024 * 1024)
                    : buffer.ToArray();
                return ProtocolJson.ParseObject(bytes, JsonLimits.Snapshot);
            }
        }
    }

    private static async Task<JsonObject> NextBatchAsync(ClientWebSocket socket)
    {
        while (true)
        {
            var message = await ReceiveAsync(socket) ?? throw new InvalidOperationException($"Closed: {socket.CloseStatus} {socket.CloseStatusDescription}");
            if (message["type"]!.GetValue<string>() == "batch")
            {
                return message;
            }
        }
    }
}
