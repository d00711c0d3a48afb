using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Vivim.Gateway.Api;
using Vivim.Gateway.P2p;
using Vivim.Gateway.P2p.Protocols;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Libp2p.Muxing.Yamux;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Tests.Grains;
using Vivim.Tests.Libp2p;
using Vivim.Tests.Support;
using static Vivim.Tests.Gateway.GatewayTestKit;

namespace Vivim.Tests.Gateway.P2p;

/// <summary>
/// Hostile requests over real libp2p streams: every field of every <c>/vivim/*</c> request oversize, non-ASCII or of the
/// wrong type, unknown types, frames at and over the length limit, garbage. Each is answered <c>{"error":{code,message}}</c>
/// (or, for broken framing, the stream is reset), nothing changes, and the gateway serves a good request afterwards.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class VivimProtocolHostileInputTests(GatewayFixture gateway)
{
    private const int MaxRequestBytes = 1024 * 1024;

    /// <summary>Values no bounded text field accepts: too long (past the longest bound, and by far), not printable ASCII, empty.</summary>
    private static readonly JsonNode?[] HostileStrings =
    [
        new string('a', RequestBounds.MaxProofChars + 1), new string('z', 100_000), "did:key:z6Mk\u00e9", "a b", "a\u0000b", "a\nb", "\ud83d\ude00", string.Empty,
    ];

    /// <summary>Wrong types for a string member.</summary>
    private static readonly JsonNode?[] WrongTypes = [5, true, 1e300, new JsonArray("a"), new JsonObject { ["a"] = "b" }];

    [Fact]
    public async Task Oversize_non_ascii_and_wrongly_typed_fields_are_refused_on_every_protocol_and_change_nothing()
    {
        using var cts = TestUtil.Timeout(180);
        var ct = cts.Token;
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        var clone = await RegisterAsync(gateway, did);
        await using var peer = await VivimProtocolTestKit.StartAsync(gateway.Services);
        await using var stranger = await VivimProtocolTestKit.DialerAsync();
        await using var cloneDialer = await VivimProtocolTestKit.DialerAsync(clone.Key);
        var before = await StateAsync(apiKey, did, clone.CloneId, peer, cloneDialer, ct);

        using var newcomer = SigningKey.Generate();
        var registration = ProtocolModel.ToJsonObject(ExitNodeTestKit.Request(newcomer, ExitNodeTestKit.NewNonce()) with
        {
            RequestedCloneId = "wanted",
            ChallengeResponse = "answer",
        });
        var requests = new List<(string Protocol, bool AsClone, JsonObject Request)>();
        foreach (var bad in HostileStrings.Concat(WrongTypes))
        {
            requests.Add((ExitNodeProtocol.Id, false, new JsonObject { ["did"] = bad?.DeepClone() }));
            requests.Add((CloneProtocol.Id, false, new JsonObject { ["type"] = "challenge", ["exitNode"] = bad?.DeepClone(), ["did"] = newcomer.Did.Value, ["nonce"] = "n" }));
            requests.Add((CloneProtocol.Id, false, new JsonObject { ["type"] = "challenge", ["exitNode"] = did, ["did"] = bad?.DeepClone(), ["nonce"] = "n" }));
            requests.Add((CloneProtocol.Id, false, new JsonObject { ["type"] = "challenge", ["exitNode"] = did, ["did"] = newcomer.Did.Value, ["nonce"] = bad?.DeepClone() }));
            foreach (var field in new[] { "did", "nonce", "identityProof", "requestedCloneId", "challengeResponse" })
            {
                // identityProof and challengeResponse may be empty (the SDK's first request); everything else is wrong.
                if (bad is JsonValue v && v.TryGetValue<string>(out var text) && text.Length == 0 && field is "identityProof" or "challengeResponse")
                {
                    continue;
                }

                var request = (JsonObject)registration.DeepClone();
                request[field] = bad?.DeepClone();
                requests.Add((CloneProtocol.Id, false, new JsonObject { ["type"] = "register", ["exitNode"] = did, ["request"] = request }));
            }

            requests.Add((CloneProtocol.Id, false, new JsonObject { ["type"] = bad?.DeepClone(), ["exitNode"] = did }));
            requests.Add((SyncProtocol.Id, true, new JsonObject { ["type"] = "status", ["cloneId"] = bad?.DeepClone() }));
            requests.Add((SyncProtocol.Id, true, new JsonObject { ["type"] = bad?.DeepClone(), ["cloneId"] = clone.CloneId }));
            requests.Add((SyncProtocol.Id, true, new JsonObject { ["type"] = "peer", ["cloneId"] = clone.CloneId, ["did"] = bad?.DeepClone() }));
            if (bad?.GetValueKind() is not JsonValueKind.Number)
            {
                // Numbers for the numeric members come below.
                requests.Add((SyncProtocol.Id, true, new JsonObject { ["type"] = "updates", ["cloneId"] = clone.CloneId, ["after"] = bad?.DeepClone() }));
                requests.Add((SyncProtocol.Id, true, new JsonObject { ["type"] = "updates", ["cloneId"] = clone.CloneId, ["limit"] = bad?.DeepClone() }));
                requests.Add((SyncProtocol.Id, true, new JsonObject { ["type"] = "ack", ["cloneId"] = clone.CloneId, ["seq"] = bad?.DeepClone() }));
            }
            requests.Add((SyncProtocol.Id, true, new JsonObject { ["type"] = "submit", ["cloneId"] = clone.CloneId, ["updates"] = bad?.DeepClone() }));
        }

        // Capabilities: too many, one too long, one not text. Numbers: negative, fractional, past 2^53, out of range.
        foreach (var capabilities in new JsonArray[] { [.. Enumerable.Range(0, RequestBounds.MaxCapabilities + 1).Select(i => (JsonNode)$"c{i}")], [new string('c', RequestBounds.MaxCapabilityChars + 1)], [5] })
        {
            var request = (JsonObject)registration.DeepClone();
            request["desiredCapabilities"] = capabilities;
            requests.Add((CloneProtocol.Id, false, new JsonObject { ["type"] = "register", ["exitNode"] = did, ["request"] = request }));
        }

        foreach (var number in new JsonNode[] { -1, 1.5, 9007199254740992d, -9007199254740992d, 1e300 })
        {
            requests.Add((SyncProtocol.Id, true, new JsonObject { ["type"] = "updates", ["cloneId"] = clone.CloneId, ["after"] = number.DeepClone() }));
            requests.Add((SyncProtocol.Id, true, new JsonObject { ["type"] = "updates", ["cloneId"] = clone.CloneId, ["limit"] = number.DeepClone() }));
            requests.Add((SyncProtocol.Id, true, new JsonObject { ["type"] = "ack", ["cloneId"] = clone.CloneId, ["seq"] = number.DeepClone() }));
        }

        requests.Add((SyncProtocol.Id, true, new JsonObject { ["type"] = "updates", ["cloneId"] = clone.CloneId, ["limit"] = CloneSyncCalls.MaxUpdatesLimit + 1 }));
        requests.Add((SyncProtocol.Id, true, new JsonObject { ["type"] = "ack", ["cloneId"] = clone.CloneId, ["seq"] = 0, ["stateHash"] = new string('f', 65) }));
        requests.Add((SyncProtocol.Id, true, new JsonObject { ["type"] = "submit", ["cloneId"] = clone.CloneId, ["updates"] = new JsonArray(1, "two") }));
        requests.Add((SyncProtocol.Id, true, new JsonObject { ["type"] = "snapshot", ["cloneId"] = clone.CloneId, ["extra"] = 1 }));
        requests.Add((SyncProtocol.Id, true, new JsonObject { ["type"] = "SNAPSHOT", ["cloneId"] = clone.CloneId }));
        requests.Add((SyncProtocol.Id, true, new JsonObject { ["cloneId"] = clone.CloneId }));
        requests.Add((CloneProtocol.Id, false, new JsonObject { ["type"] = "register", ["exitNode"] = did, ["request"] = "not an object" }));
        requests.Add((CloneProtocol.Id, false, new JsonObject { ["type"] = "unregister", ["exitNode"] = did }));

        foreach (var (protocol, asClone, request) in requests)
        {
            var answer = await peer.RequestAsync(asClone ? cloneDialer : stranger, protocol, request, ct);
            var shown = Shown(request);
            Assert.False(answer.Reset, $"{protocol} reset the stream for {shown}");
            Assert.True(answer.ErrorCode is "invalid-request" or "invalid-shape" or "too-large", $"{protocol} answered {answer.Json?.ToJsonString()} to {shown}");
            Assert.False(string.IsNullOrEmpty(answer.Body["error"]!["message"]!.GetValue<string>()));
        }

        // A batch over the anchor's bound is refused before anything is signed or stored.
        var tooMany = new JsonArray([.. Enumerable.Range(0, gateway.Services.GetRequiredService<IOptions<Vivim.Anchors.AnchorOptions>>().Value.MaxBatchUpdates + 1).Select(_ => (JsonNode)new JsonObject())]);
        Assert.Equal("too-large", (await peer.RequestAsync(cloneDialer, SyncProtocol.Id, new JsonObject { ["type"] = "submit", ["cloneId"] = clone.CloneId, ["updates"] = tooMany }, ct)).ErrorCode);

        Assert.Equal(before, await StateAsync(apiKey, did, clone.CloneId, peer, cloneDialer, ct));
        Assert.Equal(did, (await peer.RequestAsync(stranger, ExitNodeProtocol.Id, new JsonObject { ["did"] = did }, ct)).Body["did"]!.GetValue<string>());
    }

    [Fact]
    public async Task Frames_at_the_limit_are_answered_frames_over_it_reset_and_garbage_gets_a_json_error()
    {
        using var cts = TestUtil.Timeout(180);
        var ct = cts.Token;
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        await using var peer = await VivimProtocolTestKit.StartAsync(gateway.Services);
        await using var dialer = await VivimProtocolTestKit.DialerAsync();
        var random = new Random(9421); // fixed: the same garbage every run

        foreach (var protocol in new[] { ExitNodeProtocol.Id, CloneProtocol.Id, SyncProtocol.Id })
        {
            // Exactly the limit: read, parsed, refused by the field bound. One byte more: the length alone resets the stream.
            var atLimit = Padded("{\"did\":\"", "\"}", MaxRequestBytes);
            Assert.Equal("invalid-request", (await peer.SendAsync(dialer, protocol, VivimProtocolTestKit.Frame(atLimit), ct)).ErrorCode);
            Assert.True((await peer.SendAsync(dialer, protocol, VivimProtocolTestKit.Frame(Padded("{\"did\":\"", "\"}", MaxRequestBytes + 1)), ct)).Reset, protocol);

            // A length past the limit by far, a varint longer than 64 bits, a frame shorter than its length, nothing at all.
            Assert.True((await peer.SendAsync(dialer, protocol, Varint.Encode((ulong)long.MaxValue), ct)).Reset, protocol);
            Assert.True((await peer.SendAsync(dialer, protocol, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], ct)).Reset, protocol);
            Assert.True((await peer.SendAsync(dialer, protocol, [.. Varint.Encode(1000), .. new byte[999]], ct)).Reset, protocol);
            Assert.True((await peer.SendAsync(dialer, protocol, [], ct)).Reset, protocol);

            // Garbage, invalid UTF-8, deep nesting, duplicate keys, lone surrogates, huge numbers: a JSON error each.
            byte[][] garbage =
            [
                [.. Enumerable.Range(0, 64).Select(_ => (byte)random.Next(256))],
                [0xFF, 0xFE, 0x7B, 0x7D],
                [.. "{\"did\":\""u8, 0xC0, 0x80, .. "\"}"u8],
                Encoding.UTF8.GetBytes(new string('[', 5000) + new string(']', 5000)),
                Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"a\":", 100)) + "1" + new string('}', 100)),
                "{\"did\":\"a\",\"did\":\"b\"}"u8.ToArray(),
                "{\"did\":\"\\ud800\"}"u8.ToArray(),
                "{\"did\":1e400}"u8.ToArray(),
                "{\"did\":\"a\"} trailing"u8.ToArray(),
                []
            ];
            foreach (var bytes in garbage)
            {
                var answer = await peer.SendAsync(dialer, protocol, VivimProtocolTestKit.Frame(bytes), ct);
                Assert.False(answer.Reset, $"{protocol} reset for {Convert.ToHexString(bytes.AsSpan(0, Math.Min(16, bytes.Length)))}");
                Assert.StartsWith("json-", answer.ErrorCode, StringComparison.Ordinal);
            }

            Assert.Equal(did, (await peer.RequestAsync(dialer, ExitNodeProtocol.Id, new JsonObject { ["did"] = did }, ct)).Body["did"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Sync_streams_of_one_clone_over_the_cap_are_rate_limited_while_other_clones_are_served()
    {
        using var cts = TestUtil.Timeout(180);
        var ct = cts.Token;
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        var clone = await RegisterAsync(gateway, did);
        var other = await RegisterAsync(gateway, did);

        // A page of 800 KB, more than the reader's stream window (256 KiB): its answer stays open until the reader reads it.
        var large = JsonSerializer.Serialize(new string('x', 200_000));
        for (var i = 0; i < 4; i++)
        {
            await WriteAsync(gateway, apiKey, did, ($"memoryIndex/large/{i}", large));
        }

        const int cap = 2;
        var shared = gateway.Services.GetRequiredService<VivimProtocolContext>();
        var capped = shared with { Options = Options.Create(new VivimProtocolOptions { MaxSyncStreamsPerClone = cap, RequestTimeout = TimeSpan.FromHours(1) }) };
        var open = ActivatorUtilities.CreateInstance<OpenSyncStreams>(gateway.Services);
        IP2pProtocol sync = ActivatorUtilities.CreateInstance<SyncProtocol>(gateway.Services, capped, open);
        await using var peer = await VivimProtocolTestKit.StartAsync(gateway.Services, [sync]);
        await using var cloneDialer = new Libp2pHostBuilder().WithIdentitySeed(clone.Key.ExportSeed()).WithYamux(new YamuxOptions { ReceiveWindow = YamuxOptions.DefaultWindow }).Build();
        await cloneDialer.StartAsync(ct);
        await using var otherDialer = await VivimProtocolTestKit.DialerAsync(other.Key);
        var connection = await cloneDialer.DialAsync(peer.Address, ct);
        var page = Encoding.UTF8.GetBytes(new JsonObject { ["type"] = "updates", ["cloneId"] = clone.CloneId, ["after"] = 0, ["limit"] = 10 }.ToJsonString());
        var status = new JsonObject { ["type"] = "status", ["cloneId"] = clone.CloneId };

        // The cap's worth of streams, each being answered (its length came) and held open by this reader.
        var held = new List<Libp2pStream>();
        try
        {
            for (var i = 0; i < cap; i++)
            {
                var stream = await connection.NewStreamAsync([SyncProtocol.Id], ct);
                held.Add(stream);
                await stream.WriteAsync(VivimProtocolTestKit.Frame(page), ct);
                await stream.FlushAsync(ct);
                await stream.CloseWriteAsync();
                Assert.True(await ReadVarintAsync(stream, ct) > 3 * 200_000);
            }

            Assert.Equal(cap, open.Count);

            // One more for the same clone, on the same connection or another: refused with a time to come back.
            var refused = await peer.RequestAsync(cloneDialer, SyncProtocol.Id, status, ct);
            Assert.Equal("rate-limited", refused.ErrorCode);
            Assert.True(refused.Body["error"]!["retryAfterMs"]!.GetValue<double>() > 0);
            await using (var secondDialer = await VivimProtocolTestKit.DialerAsync(clone.Key))
            {
                Assert.Equal("rate-limited", (await peer.RequestAsync(secondDialer, SyncProtocol.Id, status, ct)).ErrorCode);
            }

            // Another clone has its own streams.
            // (Its stream is closed just after its answer is written, so the count comes back to the cap a moment later.)
            Assert.Null((await peer.RequestAsync(otherDialer, SyncProtocol.Id, new JsonObject { ["type"] = "status", ["cloneId"] = other.CloneId }, ct)).ErrorCode);
            await Until.TrueAsync(() => open.Count == cap, () => $"{open.Count} streams open; the held ones are {cap}");

            // One held stream given up: its slot is free again.
            held[0].Reset();
            await Until.TrueAsync(() => open.Count == cap - 1, () => $"{open.Count} streams still open after one was reset");
            Assert.Null((await peer.RequestAsync(cloneDialer, SyncProtocol.Id, status, ct)).ErrorCode);
        }
        finally
        {
            foreach (var stream in held)
            {
                stream.Reset();
                await stream.DisposeAsync();
            }
        }

        await Until.TrueAsync(() => open.Count == 0, () => $"{open.Count} streams still open after all were reset");
    }

    /// <summary>What a hostile request must not change: the node's clones as the owner lists them, and the clone's cursor.</summary>
    private async Task<string> StateAsync(string apiKey, string did, string cloneId, VivimProtocolTestKit peer, Libp2pHost cloneDialer, CancellationToken ct)
    {
        using var owner = gateway.CreateClient(apiKey);
        var list = JsonNode.Parse(await owner.GetStringAsync($"/v1/exit-nodes/{did}/clones", ct))!["items"]!.AsArray()
            .Select(c => $"{c!["cloneId"]}|{c["did"]}|{c["trustLevel"]}|{c["permissions"]!.ToJsonString()}|{c["cursor"]}");
        var status = (await peer.RequestAsync(cloneDialer, SyncProtocol.Id, new JsonObject { ["type"] = "status", ["cloneId"] = cloneId }, ct)).Body;
        return string.Join('\n', list.Order(StringComparer.Ordinal)) + $"\ncursor={status["cursor"]} head={status["headSeq"]} hash={status["stateHash"]}";
    }

    /// <summary><paramref name="prefix"/>, 'a's, <paramref name="suffix"/>: exactly <paramref name="length"/> bytes.</summary>
    private static byte[] Padded(string prefix, string suffix, int length) =>
        Encoding.UTF8.GetBytes(prefix + new string('a', length - prefix.Length - suffix.Length) + suffix);

    private static string Shown(JsonObject request)
    {
        var text = request.ToJsonString();
        return text.Length <= 200 ? text : text[..200] + "…";
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
}
