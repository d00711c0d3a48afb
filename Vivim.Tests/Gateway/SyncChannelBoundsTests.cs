using System.Diagnostics;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Vivim.Tests.Support;
using static Vivim.Tests.Gateway.GatewayTestKit;
using static Vivim.Tests.Gateway.SyncSocketTests;

namespace Vivim.Tests.Gateway;

/// <summary>The sync channel's limits as an outside client meets them: the hello timeout, and tickets kept out of the logs.</summary>
public sealed class SyncChannelBoundsTests(LoggedGatewayFixture logged) : IClassFixture<LoggedGatewayFixture>
{
    private GatewayFixture Gateway => logged.Gateway;

    [Fact]
    public async Task A_clone_that_never_says_hello_gets_the_hello_timeout_error_then_a_protocol_error_close()
    {
        var (_, apiKey) = await Gateway.CreateTenantAsync();
        var clone = await RegisterAsync(Gateway, await Gateway.CreateExitNodeAsync(apiKey));
        using var socket = await ConnectAsync(Gateway, clone);
        var clock = Stopwatch.StartNew();

        // Sends nothing; the server speaks first, then closes (a cancelled server read would abort: 1006, no frame).
        var error = await ReceiveAsync(socket);
        Assert.NotNull(error);
        Assert.Equal("error", error["type"]!.GetValue<string>());
        Assert.Equal("hello-timeout", error["code"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(error["message"]?.GetValue<string>()));
        Assert.Null(await ReceiveAsync(socket));
        Assert.Equal(WebSocketCloseStatus.ProtocolError, socket.CloseStatus);
        Assert.Equal("hello-timeout", socket.CloseStatusDescription);
        Assert.InRange(clock.Elapsed, LoggedGatewayFixture.HelloTimeout * 0.9, LoggedGatewayFixture.HelloTimeout + TimeSpan.FromSeconds(20)); // loaded CI

        // The clone answers the close: the handshake completes on both sides.
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        Assert.Equal(WebSocketState.Closed, socket.State);
    }

    [Fact]
    public async Task A_sync_ticket_appears_in_no_log_line_at_any_level()
    {
        var (_, apiKey) = await Gateway.CreateTenantAsync();
        var did = await Gateway.CreateExitNodeAsync(apiKey);
        var clone = await RegisterAsync(Gateway, did);
        using var http = Gateway.CreateClient();
        string Ticket(JsonObject? body) => body!["ticket"]!.GetValue<string>();
        var (_, first) = await GatewayTestKit.SendAsync(http, Gateway.Signed(clone.Key, HttpMethod.Post, $"/v1/clones/{clone.CloneId}/sync-ticket"));
        var (_, second) = await GatewayTestKit.SendAsync(http, Gateway.Signed(clone.Key, HttpMethod.Post, $"/v1/clones/{clone.CloneId}/sync-ticket"));
        var tickets = new[] { Ticket(first), Ticket(second) };

        // A session with the first ticket, through to a batch and a clean close.
        using (var socket = new ClientWebSocket())
        {
            await socket.ConnectAsync(WebSocketUri(Gateway, $"/v1/clones/{clone.CloneId}/sync?ticket={tickets[0]}"), CancellationToken.None);
            await SyncSocketTests.SendAsync(socket, new JsonObject { ["type"] = "hello", ["cursor"] = 0 });
            Assert.Equal("welcome", (await ReceiveAsync(socket))!["type"]!.GetValue<string>());
            await WriteAsync(Gateway, apiKey, did, ("memoryIndex/logged", "1"));
            while ((await ReceiveAsync(socket))!["type"]!.GetValue<string>() != "batch")
            {
            }

            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        }

        // The second ticket spent, then refused on reuse (401), among other query members.
        using (var socket = new ClientWebSocket())
        {
            await socket.ConnectAsync(WebSocketUri(Gateway, $"/v1/clones/{clone.CloneId}/sync?x=1&ticket={tickets[1]}"), CancellationToken.None);
            socket.Abort();
        }

        using (var reuse = new ClientWebSocket())
        {
            await Assert.ThrowsAsync<WebSocketException>(() => reuse.ConnectAsync(WebSocketUri(Gateway, $"/v1/clones/{clone.CloneId}/sync?ticket={tickets[1]}"), CancellationToken.None));
        }

        // The hosting log's "Request finished" line comes after the response: wait for the last request's.
        await Until.TrueAsync(
            () => Task.FromResult(logged.Log.Lines.Count(l => l.Contains("Request finished", StringComparison.Ordinal) && l.Contains("/sync?", StringComparison.Ordinal)) >= 3),
            () => "the gateway did not log the sync requests it finished: " + string.Join(Environment.NewLine, logged.Log.Lines.Where(l => l.Contains("/sync", StringComparison.Ordinal))));
        var lines = logged.Log.Lines.ToArray();
        Assert.Contains(lines, l => l.Contains($"/v1/clones/{clone.CloneId}/sync?ticket=REDACTED", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("/sync?x=1&ticket=REDACTED", StringComparison.Ordinal));
        foreach (var ticket in tickets)
        {
            Assert.DoesNotContain(lines, l => l.Contains(ticket, StringComparison.Ordinal));
        }
    }
}
