using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Vivim.Client.Http;
using Vivim.Client.Sync;
using Vivim.Client.Transports;
using Vivim.Protocol.Http;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Tests.Client.Wire;

/// <summary>
/// What the clone transport puts on the wire, checked by a real Kestrel server the way a gateway checks it: the
/// RFC 9421 headers verify with <see cref="HttpMessageSignature.Verify"/> over the raw request target, clone ids keep
/// their ':' unescaped, bodies carry their digest, and the WebSocket upgrade is signed too.
/// </summary>
public sealed class CloneRequestSignerTests : IAsyncLifetime
{
    private const string CloneId = "did:key:z6MkTest-1700000000000-abcd1234";
    private readonly SigningKey _key = SigningKey.Generate();
    private readonly ConcurrentQueue<Seen> _seen = new();
    private LoopbackServer? _server;
    private string? _expectedKey;

    private sealed record Seen(string Method, string RawTarget, string? KeyId, string? Nonce, long Created, string? Error);

    public async Task InitializeAsync() => _server = await LoopbackServer.StartAsync(app =>
    {
        app.Map("/v1/clones/{id}/sync", async context =>
        {
            if (!Check(context, []))
            {
                context.Response.StatusCode = 401;
                return;
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var hello = await SyncChannelCodec.ReceiveAsync(socket, 4096, context.RequestAborted);
            var (payload, type) = SyncChannelCodec.Encode(new() { ["type"] = "welcome", ["headSeq"] = 0, ["maxInFlight"] = 2 }, compress: false);
            await socket.SendAsync(payload, type, true, context.RequestAborted);
            await SyncChannelCodec.ReceiveAsync(socket, 4096, context.RequestAborted); // until the client closes
        });
        app.Map("/{**rest}", async context =>
        {
            var body = await LoopbackServer.BodyAsync(context.Request);
            if (!Check(context, body))
            {
                context.Response.StatusCode = 401;
                await context.Response.WriteAsJsonAsync(new { type = "about:blank", title = "Unauthorized", status = 401, code = "invalid-request-signature", detail = _seen.Last().Error });
                return;
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(context.Request.Path.Value!.EndsWith("/status", StringComparison.Ordinal)
                ? $$"""{"connected":false,"parentDid":"did:key:z6MkParent","lastSyncAt":null,"pendingUpdates":3,"stateHash":"ab","cursor":4,"headSeq":7}"""
                : """{"receipts":[]}""");
        });
    });

    public async Task DisposeAsync()
    {
        await _server!.DisposeAsync();
        _key.Dispose();
    }

    [Fact]
    public async Task A_get_with_a_query_is_signed_over_the_raw_target_with_the_clone_id_unescaped()
    {
        using var transport = new HttpSyncTransport(_server!.Address, _key, CloneId);
        var status = await transport.GetStatusAsync();

        Assert.Equal(7, status.HeadSeq);
        Assert.Equal(4, status.Cursor);
        Assert.Equal(3, status.Status.PendingUpdates);
        var seen = Assert.Single(_seen);
        Assert.Null(seen.Error);
        Assert.Equal($"/v1/clones/{CloneId}/status", seen.RawTarget);
        Assert.Equal(_key.Did.Value, seen.KeyId);

        await Assert.ThrowsAnyAsync<Exception>(() => transport.GetUpdatesAsync(5, 10, default)); // the stub answers no page, but the request is what counts
        var query = _seen.Last();
        Assert.Null(query.Error);
        Assert.Equal($"/v1/clones/{CloneId}/updates?after=5&limit=10", query.RawTarget);
    }

    [Fact]
    public async Task A_post_carries_a_content_digest_of_its_exact_body_and_fresh_nonces()
    {
        using var transport = new HttpSyncTransport(_server!.Address, _key, CloneId);
        var writer = new CloneWriter(transport, _key, CloneId);
        var result = await writer.SubmitAsync(UpdateType.Memory, UpdateOperation.Create, "memoryIndex/notes/1", new RawJson("""{"text":"hé"}"""));
        await transport.AcknowledgeAsync(3, "root", default);

        Assert.Equal(SubmitOutcome.Committed, result.Outcome);
        Assert.All(_seen, s => Assert.Null(s.Error));
        Assert.Equal(["POST", "POST"], _seen.Select(s => s.Method));
        Assert.Equal(2, _seen.Select(s => s.Nonce).Distinct().Count());
        Assert.All(_seen, s => Assert.InRange(s.Created, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 5, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1));
    }

    [Fact]
    public async Task A_refused_signature_surfaces_as_the_problem_code()
    {
        using var other = SigningKey.Generate();
        // Signed by another key than the one the server expects for this clone: the server answers 401 with a problem.
        using var transport = new HttpSyncTransport(_server!.Address, other, "did:key:z6MkOther-1-x");
        _expectedKey = _key.Did.Value;
        var error = await Assert.ThrowsAsync<GatewayException>(() => transport.GetStatusAsync());

        Assert.Equal(HttpStatusCode.Unauthorized, error.Status);
        Assert.Equal("invalid-request-signature", error.Code);
    }

    [Fact]
    public async Task The_websocket_upgrade_is_signed_and_opens_with_hello_and_welcome()
    {
        using var transport = new HttpSyncTransport(_server!.Address, _key, CloneId);
        var observer = new NullLiveObserver();
        await using (var live = await transport.SubscribeAsync(observer, default))
        {
            Assert.Equal(2, live.MaxInFlightBatches);
            Assert.True(transport.IsLiveConnected);
        }

        var upgrade = Assert.Single(_seen);
        Assert.Null(upgrade.Error);
        Assert.Equal("GET", upgrade.Method);
        Assert.Equal($"/v1/clones/{CloneId}/sync", upgrade.RawTarget);
    }


    private bool Check(HttpContext context, byte[] body)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()!.RawTarget;
        var headers = context.Request.Headers;
        try
        {
            var parameters = HttpMessageSignature.Verify(
                headers[HttpMessageSignature.SignatureInputHeader], headers[HttpMessageSignature.SignatureHeader], headers[HttpMessageSignature.ContentDigestHeader],
                context.Request.Method, raw, body, hasBody: body.Length > 0);
            if (_expectedKey is not null && parameters.KeyId != _expectedKey)
            {
                throw new HttpSignatureException("keyid is not the clone's key.");
            }

            _seen.Enqueue(new Seen(context.Request.Method, raw, parameters.KeyId, parameters.Nonce, parameters.Created, null));
            return true;
        }
        catch (HttpSignatureException e)
        {
            _seen.Enqueue(new Seen(context.Request.Method, raw, null, null, 0, e.Message));
            return false;
        }
    }
}
