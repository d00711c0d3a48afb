using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Vivim.Gateway.Hosting;
using Vivim.Gateway.Limits;
using Vivim.Gateway.P2p;
using Vivim.Gateway.P2p.Protocols;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Libp2p.Muxing.Yamux;
using Vivim.Protocol.Identity;
using Vivim.Tests.Libp2p;
using Vivim.Tests.Support;
using static Vivim.Tests.Gateway.GatewayTestKit;

namespace Vivim.Tests.Gateway.P2p;

/// <summary>Broken framing, bad requests, strangers, suspended clones and floods on the <c>/vivim/*</c> protocols.</summary>
[Collection(GatewayCollection.Name)]
public sealed class VivimProtocolBadInputTests(GatewayFixture gateway)
{
    private static readonly string[] Protocols = [ExitNodeProtocol.Id, CloneProtocol.Id, SyncProtocol.Id];

    [Fact]
    public async Task Broken_framing_resets_the_stream_and_bad_requests_get_the_http_error_code_while_the_host_serves_on()
    {
        using var cts = TestUtil.Timeout(120);
        var ct = cts.Token;
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        await using var peer = await VivimProtocolTestKit.StartAsync(gateway.Services);
        await using var dialer = await VivimProtocolTestKit.DialerAsync();

        foreach (var protocol in Protocols)
        {
            // A truncated varint, a length over the 1 MiB limit (the body never needs to come): reset, no answer.
            Assert.True((await peer.SendAsync(dialer, protocol, [0x80], ct)).Reset, protocol);
            Assert.True((await peer.SendAsync(dialer, protocol, Varint.Encode(1024 * 1024 + 1), ct)).Reset, protocol);
            Assert.True((await peer.SendAsync(dialer, protocol, [.. Varint.Encode(100), .. "{}"u8], ct)).Reset, protocol);

            // Not JSON, not an object, wrong member types: an error answer with the HTTP API's code.
            Assert.Equal("json-malformed", (await peer.SendAsync(dialer, protocol, VivimProtocolTestKit.Frame("{not json"u8.ToArray()), ct)).ErrorCode);
            Assert.Equal("json-malformed", (await peer.SendAsync(dialer, protocol, VivimProtocolTestKit.Frame("[1]"u8.ToArray()), ct)).ErrorCode);
            Assert.Equal("invalid-request", (await peer.RequestAsync(dialer, protocol, new JsonObject { ["did"] = 5, ["type"] = 5 }, ct)).ErrorCode);

            // Meanwhile the host answers a good request on the same connection.
            Assert.Equal(did, (await peer.RequestAsync(dialer, ExitNodeProtocol.Id, new JsonObject { ["did"] = did }, ct)).Body["did"]!.GetValue<string>());
        }

        Assert.Equal("invalid-request", (await peer.RequestAsync(dialer, CloneProtocol.Id, new JsonObject { ["type"] = "unregister", ["exitNode"] = did }, ct)).ErrorCode);
        Assert.Equal("invalid-request", (await peer.RequestAsync(dialer, SyncProtocol.Id, new JsonObject { ["type"] = "rewind", ["cloneId"] = "c" }, ct)).ErrorCode);
        Assert.Equal("invalid-request", (await peer.RequestAsync(dialer, ExitNodeProtocol.Id, new JsonObject { ["did"] = did, ["extra"] = 1 }, ct)).ErrorCode);
        Assert.Equal("not-found", (await peer.RequestAsync(dialer, ExitNodeProtocol.Id, new JsonObject { ["did"] = "did:key:z6MkNotHostedAnywhere" }, ct)).ErrorCode);
        var badRegistration = await peer.RequestAsync(dialer, CloneProtocol.Id, new JsonObject { ["type"] = "register", ["exitNode"] = did, ["request"] = new JsonObject { ["did"] = 7 } }, ct);
        Assert.NotNull(badRegistration.ErrorCode);
        Assert.False(badRegistration.Reset);
    }

    [Fact]
    public async Task Sync_is_refused_to_a_strangers_key_and_to_a_suspended_clone_and_pages_are_checked_like_http()
    {
        using var cts = TestUtil.Timeout(120);
        var ct = cts.Token;
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        var clone = await RegisterAsync(gateway, did);
        await using var peer = await VivimProtocolTestKit.StartAsync(gateway.Services);
        await using var cloneDialer = await VivimProtocolTestKit.DialerAsync(clone.Key);
        await using var stranger = await VivimProtocolTestKit.DialerAsync(SigningKey.Generate());
        var status = new JsonObject { ["type"] = "status", ["cloneId"] = clone.CloneId };

        Assert.Equal("unauthorized", (await peer.RequestAsync(stranger, SyncProtocol.Id, status, ct)).ErrorCode);
        Assert.Equal("unauthorized", (await peer.RequestAsync(cloneDialer, SyncProtocol.Id, new JsonObject { ["type"] = "status", ["cloneId"] = "no-such-clone" }, ct)).ErrorCode);
        Assert.Null((await peer.RequestAsync(cloneDialer, SyncProtocol.Id, status, ct)).ErrorCode);

        Assert.Equal("invalid-request", (await peer.RequestAsync(cloneDialer, SyncProtocol.Id, new JsonObject { ["type"] = "updates", ["cloneId"] = clone.CloneId, ["limit"] = 1001 }, ct)).ErrorCode);
        Assert.Equal("invalid-request", (await peer.RequestAsync(cloneDialer, SyncProtocol.Id, new JsonObject { ["type"] = "updates", ["cloneId"] = clone.CloneId, ["after"] = "one" }, ct)).ErrorCode);
        Assert.Equal("invalid-request", (await peer.RequestAsync(cloneDialer, SyncProtocol.Id, new JsonObject { ["type"] = "submit", ["cloneId"] = clone.CloneId, ["updates"] = new JsonArray() }, ct)).ErrorCode);
        Assert.Equal("invalid-request", (await peer.RequestAsync(cloneDialer, SyncProtocol.Id, new JsonObject { ["type"] = "ack", ["cloneId"] = clone.CloneId, ["seq"] = -1 }, ct)).ErrorCode);

        using (var owner = gateway.CreateClient(apiKey))
        using (var suspend = await owner.PostAsync($"/v1/exit-nodes/{did}/clones/{clone.CloneId}/suspend", GatewayFixture.Json(new JsonObject()), ct))
        {
            Assert.Equal(HttpStatusCode.OK, suspend.StatusCode);
        }

        var refused = await peer.RequestAsync(cloneDialer, SyncProtocol.Id, status, ct);
        Assert.Equal("clone-revoked", refused.ErrorCode);
        Assert.Contains("suspended", refused.Body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        // The stranger is still served what is public.
        Assert.Equal(did, (await peer.RequestAsync(stranger, ExitNodeProtocol.Id, new JsonObject { ["did"] = did }, ct)).Body["did"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_sync_stream_still_being_answered_when_its_clone_is_suspended_is_reset()
    {
        using var cts = TestUtil.Timeout(120);
        var ct = cts.Token;
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        var clone = await RegisterAsync(gateway, did);

        // A page of 800 KB, more than this reader's stream window (256 KiB): its answer waits on the reader.
        var large = JsonSerializer.Serialize(new string('x', 200_000));
        for (var i = 0; i < 4; i++)
        {
            await WriteAsync(gateway, apiKey, did, ($"memoryIndex/large/{i}", large));
        }

        // With no request timeout to end it, a held-up answer ends only by the reset under test.
        var shared = gateway.Services.GetRequiredService<VivimProtocolContext>();
        var patient = shared with { Options = Options.Create(new VivimProtocolOptions { RequestTimeout = TimeSpan.FromHours(1) }) };
        IP2pProtocol sync = ActivatorUtilities.CreateInstance<SyncProtocol>(gateway.Services, patient);
        await using var peer = await VivimProtocolTestKit.StartAsync(gateway.Services, [sync]);
        await using var cloneDialer = new Libp2pHostBuilder().WithIdentitySeed(clone.Key.ExportSeed()).WithYamux(new YamuxOptions { ReceiveWindow = YamuxOptions.DefaultWindow }).Build();
        await cloneDialer.StartAsync(ct);
        var connection = await cloneDialer.DialAsync(peer.Address, ct);
        await using var stream = await connection.NewStreamAsync([SyncProtocol.Id], ct);
        await stream.WriteAsync(VivimProtocolTestKit.Frame(Encoding.UTF8.GetBytes(new JsonObject { ["type"] = "updates", ["cloneId"] = clone.CloneId, ["after"] = 0, ["limit"] = 10 }.ToJsonString())), ct);
        await stream.FlushAsync(ct);
        await stream.CloseWriteAsync();

        // The answer has begun (so the Clone grain allowed it) and is held up by this reader.
        var length = await ReadVarintAsync(stream, ct);
        Assert.True(length > 3 * 200_000, $"the page is {length} bytes");

        using (var owner = gateway.CreateClient(apiKey))
        using (var suspend = await owner.PostAsync($"/v1/exit-nodes/{did}/clones/{clone.CloneId}/suspend", GatewayFixture.Json(new JsonObject()), ct))
        {
            Assert.Equal(HttpStatusCode.OK, suspend.StatusCode);
        }

        // The gateway gives up the answer it was writing (while this reader holds it up, it could only end by a reset) ...
        var open = gateway.Services.GetRequiredService<OpenSyncStreams>();
        await Until.TrueAsync(() => open.Count == 0, () => "the gateway is still answering the suspended clone's stream");

        // ... and the rest never comes.
        var received = 0L;
        var buffer = new byte[64 * 1024];
        var reset = false;
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, ct)) > 0)
            {
                received += n;
            }
        }
        catch (Exception e) when (e is Libp2pException or IOException)
        {
            reset = true;
        }

        Assert.True(reset || received < (long)length, $"the whole answer ({received:N0} of {length:N0} bytes) came after the clone was suspended");
    }

    private static async Task<ulong> ReadVarintAsync(Stream stream, CancellationToken ct)
    {
        var one = new byte[1];
        ulong value = 0;
        for (var shift = 0; shift < 63; shift += 7)
        {
            Assert.Equal(1, await stream.ReadAsync(one, ct));
            value |= (ulong)(one[0] & 0x7f) << shift;
            if ((one[0] & 0x80) == 0)
            {
                return value;
            }
        }

        throw new InvalidDataException("varint too long");
    }

    [Fact]
    public async Task A_flooding_peer_is_rate_limited_with_retry_after_and_then_disconnected()
    {
        using var cts = TestUtil.Timeout(120);
        var ct = cts.Token;
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);

        // The gateway's protocol with a tight per-peer budget, so a test can exhaust it.
        using var limiter = new GatewayRateLimiter(Options.Create(new RateLimitOptions { PerAddressPerSecond = 2 }), TimeProvider.System);
        var guard = new PeerFloodGuard(Options.Create(new VivimProtocolOptions { FloodRefusals = 3, FloodWindow = TimeSpan.FromMinutes(5) }), TimeProvider.System);
        var shared = gateway.Services.GetRequiredService<VivimProtocolContext>();
        IP2pProtocol protocol = ActivatorUtilities.CreateInstance<ExitNodeProtocol>(gateway.Services, shared with { Limiter = limiter, FloodGuard = guard });
        await using var peer = await VivimProtocolTestKit.StartAsync(gateway.Services, [protocol]);
        await using var dialer = await VivimProtocolTestKit.DialerAsync();
        var request = new JsonObject { ["did"] = did };

        VivimProtocolTestKit.Answer answer;
        do
        {
            answer = await peer.RequestAsync(dialer, ExitNodeProtocol.Id, request, ct);
        }
        while (answer.ErrorCode is null);

        Assert.Equal("rate-limited", answer.ErrorCode);
        Assert.True(answer.Body["error"]!["retryAfterMs"]!.GetValue<double>() > 0);

        var connection = dialer.GetConnection(peer.Host.PeerId)!;
        var refusals = 1;
        while (!connection.IsClosed)
        {
            try
            {
                var next = await peer.RequestAsync(dialer, ExitNodeProtocol.Id, request, ct);
                refusals += next.ErrorCode == "rate-limited" ? 1 : 0;
            }
            catch (Exception e) when (e is Libp2pException or IOException or ObjectDisposedException)
            {
                break; // the connection went while the stream opened
            }

            Assert.True(refusals <= 3, "still connected after the flood limit");
        }

        // Another peer is served meanwhile, and the flooder may come back later.
        await using var other = await VivimProtocolTestKit.DialerAsync();
        Assert.Equal(did, (await peer.RequestAsync(other, ExitNodeProtocol.Id, request, ct)).Body["did"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_silent_dialer_is_reset_after_the_request_timeout()
    {
        using var cts = TestUtil.Timeout(120);
        var ct = cts.Token;
        var shared = gateway.Services.GetRequiredService<VivimProtocolContext>();
        var quick = shared with { Options = Options.Create(new VivimProtocolOptions { RequestTimeout = TimeSpan.FromMilliseconds(300) }) };
        IP2pProtocol protocol = ActivatorUtilities.CreateInstance<SyncProtocol>(gateway.Services, quick);
        await using var peer = await VivimProtocolTestKit.StartAsync(gateway.Services, [protocol]);
        await using var dialer = await VivimProtocolTestKit.DialerAsync();
        var connection = await dialer.DialAsync(peer.Address, ct);

        // Half a length prefix, then nothing: the stream is reset rather than held open (the read ends, no answer).
        await using var stream = await connection.NewStreamAsync([SyncProtocol.Id], ct);
        await stream.WriteAsync(new byte[] { 0x85 }, ct);
        await stream.FlushAsync(ct);
        var buffer = new byte[16];
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(TimeSpan.FromSeconds(60)); // far beyond the 300 ms; only a broken timeout reaches it
        var outcome = await Record.ExceptionAsync(async () =>
        {
            if (await stream.ReadAsync(buffer, bound.Token) == 0)
            {
                throw new EndOfStreamException("closed without an answer");
            }
        });
        Assert.NotNull(outcome);
        Assert.IsNotAssignableFrom<OperationCanceledException>(outcome);
        Assert.False(connection.IsClosed);
    }
}
