using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Vivim.Client.Http;
using Vivim.Client.Sync;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Tests.Support;

namespace Vivim.Tests.Client.Wire;

/// <summary>
/// The WebSocket live session against a scripted server on real Kestrel, for what the gateway does only rarely: a
/// connection that goes silent (idle timeout, reconnect), and a <c>resync</c> (the clone re-snapshots over HTTP and
/// resumes from the new cursor). Every hello's cursor and every ack is recorded.
/// </summary>
public sealed class LiveSessionScriptTests : IAsyncLifetime
{
    private const string CloneId = "did:key:z6MkScript-1-abc";
    private readonly TestAnchor _anchor = new();
    private readonly Lock _anchorLock = new();
    private readonly ConcurrentQueue<long> _hellos = new();
    private readonly ConcurrentQueue<(int Connection, long Seq)> _acks = new();
    private readonly TaskCompletionSource _sendFirstBatch = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _sendLastBatch = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private LoopbackServer? _server;
    private int _connections;
    private int _snapshots;
    private volatile bool _retentionMoved;

    public async Task InitializeAsync()
    {
        Commit(("memoryIndex/s/1", "1"), ("memoryIndex/s/2", "2"));
        _server = await LoopbackServer.StartAsync(app =>
        {
            app.Map("/v1/clones/{id}/sync", ServeSocketAsync);
            app.MapGet("/v1/clones/{id}/snapshot", () =>
            {
                Interlocked.Increment(ref _snapshots);
                lock (_anchorLock)
                {
                    return Results.Text(ProtocolModel.ToJson(_anchor.Snapshot()), "application/json");
                }
            });
            app.MapGet("/v1/clones/{id}/updates", (long after, int limit) =>
            {
                if (_retentionMoved && after < 5)
                {
                    return Results.Json(new { type = "about:blank", title = "Gone", status = 410, code = "resync-required" }, statusCode: 410, contentType: "application/problem+json");
                }

                return Results.Text(JavaScriptJson.Stringify(PageJson(after, limit)), "application/json");
            });
            app.MapGet("/v1/clones/{id}/status", () =>
            {
                lock (_anchorLock)
                {
                    return Results.Json(new { connected = true, parentDid = _anchor.Did, lastSyncAt = (long?)null, pendingUpdates = 0, stateHash = _anchor.RootHex, cursor = 0, headSeq = _anchor.Head });
                }
            });
            app.MapPost("/v1/clones/{id}/ack", () => Results.NoContent());
        });
    }

    public async Task DisposeAsync()
    {
        await _server!.DisposeAsync();
        _anchor.Dispose();
    }

    [Fact]
    public async Task A_silent_socket_is_reconnected_and_a_resync_re_snapshots_then_resumes_from_the_new_cursor()
    {
        using var key = SigningKey.Generate();
        // The idle bound runs on a fake clock: the socket goes silent when the test says so, and no slow moment of a
        // loaded machine can make a connection look idle. Reconnecting is immediate.
        var clock = SiloClock.StartNow();
        var idleTimeout = TimeSpan.FromSeconds(2);
        using var transport = new HttpSyncTransport(_server!.Address, key, CloneId, new HttpSyncTransportOptions
        {
            IdleTimeout = idleTimeout,
            ReconnectInitialDelay = TimeSpan.Zero,
            ReconnectMaxDelay = TimeSpan.Zero,
            TimeProvider = clock,
        });
        await using var sync = new SyncProtocol(_anchor.Did, new SyncConfig(SyncInterval: 3_600_000, MaxBatchSize: 10), transport, new SyncOptions { ReconcileInterval = TimeSpan.FromHours(1) });
        var events = new EventLog(sync);
        await sync.StartAsync();
        Assert.Equal(2, sync.Replica.Cursor);

        // Connection 1: a live batch, acknowledged on the socket; then silence until the idle timeout.
        Commit(("memoryIndex/s/3", "3"), ("memoryIndex/s/4", "4"));
        _sendFirstBatch.SetResult();
        await UntilAsync(() => sync.Replica.Cursor == 4);
        await UntilAsync(() => _acks.Contains((1, 4L)));
        // Silence: the idle bound passes. The client makes a new bound only after it acknowledged, so the clock may
        // have to move more than once.
        await AdvanceUntilAsync(clock, idleTimeout, TimeSpan.FromSeconds(5), () => Volatile.Read(ref _connections) >= 2);

        // Connection 2 answers the hello with resync (the log moved past the cursor); the clone re-snapshots at 5 while
        // the session waits, on its clock, for the new cursor. Connection 3 resumes from 5 and receives 6 live.
        await AdvanceUntilAsync(clock, TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(100), () => Volatile.Read(ref _connections) >= 3);
        Commit(("memoryIndex/s/6", "6"));
        _sendLastBatch.SetResult();
        await UntilAsync(() => sync.Replica.Cursor == 6);

        Assert.Equal([2L, 4L, 5L], _hellos.Take(3));
        Assert.Equal(2, Volatile.Read(ref _snapshots)); // the first start, and the resync
        Assert.Contains((1, 4L), _acks);
        await UntilAsync(() => _acks.Contains((3, 6L)));
        Assert.All(_acks, a => Assert.True(a.Seq <= 6));
        lock (_anchorLock)
        {
            Assert.Equal(_anchor.RootHex, sync.Replica.Root);
        }

        Assert.DoesNotContain(SyncEventNames.SyncFailed, events.Names);
        Assert.Equal([3L, 4L, 6L], events.All<UpdateAppliedEventArgs>().Select(e => e.Update.Seq!.Value));
    }

    private async Task ServeSocketAsync(HttpContext context)
    {
        var connection = Interlocked.Increment(ref _connections);
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var token = context.RequestAborted;
        var hello = await ReceiveAsync(socket, token);
        var cursor = (long)hello!["cursor"]!.GetValue<double>();
        _hellos.Enqueue(cursor);
        await SendAsync(socket, new JsonObject { ["type"] = "welcome", ["headSeq"] = Head(), ["maxInFlight"] = 2 }, token);
        switch (connection)
        {
            case 1:
                await _sendFirstBatch.Task.WaitAsync(token);
                await SendBatchAsync(socket, cursor, token);
                break; // then silent: only acks are read
            case 2:
                Commit(("memoryIndex/s/5", "5"));
                _retentionMoved = true;
                await SendAsync(socket, new JsonObject { ["type"] = "resync", ["reason"] = "cursor-behind-retention" }, token);
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "resync", token);
                return;
            default:
                await _sendLastBatch.Task.WaitAsync(token);
                await SendBatchAsync(socket, cursor, token);
                break;
        }

        try
        {
            while (await ReceiveAsync(socket, token) is { } message)
            {
                _acks.Enqueue((connection, (long)message["seq"]!.GetValue<double>()));
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            // The client gave up on this connection.
        }
    }

    private async Task SendBatchAsync(WebSocket socket, long after, CancellationToken token)
    {
        var batch = PageJson(after, 10);
        batch.Insert(0, "type", "batch");
        await SendAsync(socket, batch, token);
    }

    private JsonObject PageJson(long after, int limit)
    {
        lock (_anchorLock)
        {
            var page = _anchor.Page(after, limit);
            return new JsonObject
            {
                ["updates"] = new JsonArray([.. page.Updates.Select(u => (JsonNode)ProtocolModel.ToJsonObject(u))]),
                ["commits"] = new JsonArray([.. page.Commits.Select(c => (JsonNode)ProtocolModel.ToJsonObject(c))]),
                ["headSeq"] = page.HeadSeq,
            };
        }
    }

    private long Head()
    {
        lock (_anchorLock)
        {
            return _anchor.Head;
        }
    }

    private void Commit(params (string Path, string Data)[] documents)
    {
        lock (_anchorLock)
        {
            _anchor.Set(documents);
        }
    }

    private static async Task SendAsync(WebSocket socket, JsonObject message, CancellationToken token)
    {
        var (payload, type) = SyncChannelCodec.Encode(message, compress: false);
        await socket.SendAsync(payload, type, endOfMessage: true, token);
    }

    private static async Task<JsonObject?> ReceiveAsync(WebSocket socket, CancellationToken token) =>
        await SyncChannelCodec.ReceiveAsync(socket, 64 * 1024, token) is { } frame ? SyncChannelCodec.Decode(frame.Payload, frame.Type) : null;

    /// <summary>
    /// Moves the fake clock a step at a time until <paramref name="done"/>, giving the client <paramref name="settle"/>
    /// of real time after each step. It stops as soon as it is done, so later connections never look idle.
    /// </summary>
    private static async Task AdvanceUntilAsync(Microsoft.Extensions.Time.Testing.FakeTimeProvider clock, TimeSpan step, TimeSpan settle, Func<bool> done)
    {
        var deadline = DateTime.UtcNow + Until.Patience;
        while (!done())
        {
            Assert.True(DateTime.UtcNow < deadline, "the client did not move on as its clock moved");
            clock.Advance(step);
            var settled = DateTime.UtcNow + settle;
            while (!done() && DateTime.UtcNow < settled)
            {
                await Task.Delay(20);
            }
        }
    }

    private static Task UntilAsync(Func<bool> condition) => Until.TrueAsync(condition, () => "the condition still does not hold");
}
