using System.Net;
using System.Text.Json.Nodes;
using Vivim.Client.Replica;
using Vivim.Gateway.P2p.Protocols;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Tests.Grains;
using Vivim.Tests.Libp2p;
using Vivim.Tests.Support;
using static Vivim.Tests.Gateway.GatewayTestKit;

namespace Vivim.Tests.Gateway.P2p;

/// <summary>A clone's whole life over the <c>/vivim/*</c> protocols from a C# libp2p peer, answer for answer what HTTP answers.</summary>
[Collection(GatewayCollection.Name)]
public sealed class VivimProtocolFlowTests(GatewayFixture gateway)
{
    [Fact]
    public async Task A_clone_discovers_registers_pulls_submits_and_acks_over_libp2p_with_the_answers_http_gives()
    {
        using var cts = TestUtil.Timeout(120);
        var ct = cts.Token;
        var (_, apiKey) = await gateway.CreateTenantAsync("p2p-flow");
        var did = await gateway.CreateExitNodeAsync(apiKey);
        await gateway.ServedOnLibp2pAsync(did); // the advertisement is re-signed once, when the gateway takes the DID on
        await WriteAsync(gateway, apiKey, did, ("memoryIndex/notes/1", """{"text":"before"}"""));
        await using var gatewayPeer = await VivimProtocolTestKit.StartAsync(gateway.Services);
        using var key = SigningKey.Generate();
        await using var dialer = await VivimProtocolTestKit.DialerAsync(key);
        using var http = gateway.CreateClient();

        // Discovery: the advertisement is the one HTTP serves, signed by the exit node.
        var advertisement = (await gatewayPeer.RequestAsync(dialer, ExitNodeProtocol.Id, new JsonObject { ["did"] = did }, ct)).Body;
        Assert.True(SignatureV2.Verify(SignedKind.ExitNodeAdvertisement, advertisement, DidKey.Parse(did).PublicKey));
        Assert.Equal(await http.GetStringAsync($"/v1/exit-nodes/{did}/advertisement", ct), JavaScriptJson.Stringify(advertisement));

        // Registration: without a proof the SDK's denial carries a challenge; then challenge and proof as the SDK does.
        var nonce = ExitNodeTestKit.NewNonce();
        var request = ProtocolModel.ToJsonObject(ExitNodeTestKit.Request(key, nonce));
        var denied = (await gatewayPeer.RequestAsync(dialer, CloneProtocol.Id, Register(did, request), ct)).Body;
        Assert.False(denied["approved"]!.GetValue<bool>());
        Assert.Equal("Challenge required", denied["denialReason"]!.GetValue<string>());
        Assert.NotNull(denied["challenge"]!["challenge"]);

        var nonce2 = ExitNodeTestKit.NewNonce();
        var challenge = (await gatewayPeer.RequestAsync(dialer, CloneProtocol.Id, new JsonObject
        {
            ["type"] = "challenge", ["exitNode"] = did, ["did"] = key.Did.Value, ["nonce"] = nonce2,
        }, ct)).Body;
        Assert.Equal(nonce2, challenge["nonce"]!.GetValue<string>());
        Assert.True(challenge["expiresAt"]!.GetValue<double>() > 0);
        request = ProtocolModel.ToJsonObject(ExitNodeTestKit.Request(key, nonce2));
        request["challengeResponse"] = challenge["challenge"]!.GetValue<string>();
        request["identityProof"] = ExitNodeTestKit.IdentityProof(key, challenge["challenge"]!.GetValue<string>(), nonce2);
        var approved = (await gatewayPeer.RequestAsync(dialer, CloneProtocol.Id, Register(did, request), ct)).Body;
        Assert.True(approved["approved"]!.GetValue<bool>(), approved.ToJsonString());
        var cloneId = approved["cloneId"]!.GetValue<string>();

        // Snapshot, updates and status: what HTTP answers the same clone, byte for byte.
        var snapshot = await SyncAsync(gatewayPeer, dialer, "snapshot", cloneId, ct: ct);
        Assert.Equal(Signed(ProtocolJson.ParseObject(await HttpAsync(key, HttpMethod.Get, $"/v1/clones/{cloneId}/snapshot"))), Signed(snapshot));
        var verifier = Verifier(did);
        var replica = new CloneReplica();
        verifier.LoadSnapshot(replica, ProtocolModel.FromJsonObject<StateSnapshot>(snapshot));

        await WriteAsync(gateway, apiKey, did, ("memoryIndex/notes/2", """{"text":"two"}"""), ("memoryIndex/notes/3", """{"text":"three"}"""));
        var page = await SyncAsync(gatewayPeer, dialer, "updates", cloneId, new JsonObject { ["after"] = 1, ["limit"] = 10 }, ct);
        Assert.Equal(await HttpAsync(key, HttpMethod.Get, $"/v1/clones/{cloneId}/updates?after=1&limit=10"), JavaScriptJson.Stringify(page));
        Apply(verifier, replica, page);
        Assert.Equal(3, replica.Cursor);
        var defaultPage = await SyncAsync(gatewayPeer, dialer, "updates", cloneId, ct: ct);
        Assert.Equal(3, defaultPage["updates"]!.AsArray().Count);

        // A read-only clone's batch is refused with the rejections beside the error, as HTTP refuses it.
        var update = JsonNode.Parse(ExitNodeTestKit.SignedUpdate(key, cloneId, "memoryIndex/notes/4", JsonNode.Parse("""{"text":"by clone"}""")!))!;
        var refused = await gatewayPeer.RequestAsync(dialer, SyncProtocol.Id, new JsonObject { ["type"] = "submit", ["cloneId"] = cloneId, ["updates"] = new JsonArray(update.DeepClone()) }, ct);
        Assert.Equal("write-forbidden", refused.ErrorCode);
        Assert.NotNull(refused.Body["rejections"]);
        var httpRefused = JsonNode.Parse(await HttpAsync(key, HttpMethod.Post, $"/v1/clones/{cloneId}/updates", new JsonObject { ["updates"] = new JsonArray(update.DeepClone()) }.ToJsonString(), HttpStatusCode.Forbidden))!;
        Assert.Equal(httpRefused["code"]!.GetValue<string>(), refused.ErrorCode);
        Assert.Equal(httpRefused["rejections"]!.ToJsonString(), refused.Body["rejections"]!.ToJsonString());

        await gateway.Grains.GetGrain<Vivim.ExitNodes.IExitNodeGrain>(did).AsOperator(gateway, n => n.DelegateTrustAsync(cloneId, TrustLevel.Secondary, ["read", "write"]));
        var receipts = await SyncAsync(gatewayPeer, dialer, "submit", cloneId, new JsonObject { ["updates"] = new JsonArray(update.DeepClone()) }, ct);
        Assert.Equal(4, receipts["receipts"]![0]!["seq"]!.GetValue<double>());

        var acked = await SyncAsync(gatewayPeer, dialer, "ack", cloneId, new JsonObject { ["seq"] = 4 }, ct);
        Assert.Empty(acked);
        var status = await SyncAsync(gatewayPeer, dialer, "status", cloneId, ct: ct);
        Assert.Equal(4, status["cursor"]!.GetValue<double>());
        Assert.Equal(4, status["headSeq"]!.GetValue<double>());
        Assert.Equal(did, status["parentDid"]!.GetValue<string>());
        Assert.Equal(await HttpAsync(key, HttpMethod.Get, $"/v1/clones/{cloneId}/status"), JavaScriptJson.Stringify(status));
    }

    /// <summary>What a snapshot signs, less what each signing makes new (its id, time, signature and proof).</summary>
    private static string Signed(JsonObject snapshot)
    {
        var copy = snapshot.DeepClone().AsObject();
        foreach (var fresh in new[] { "snapshotId", "createdAt", "signature", "proof" })
        {
            copy.Remove(fresh);
        }

        return JavaScriptJson.Stringify(copy);
    }

    internal static JsonObject Register(string did, JsonObject request) => new() { ["type"] = "register", ["exitNode"] = did, ["request"] = request.DeepClone() };

    private static async Task<JsonObject> SyncAsync(VivimProtocolTestKit peer, Vivim.Libp2p.Host.Libp2pHost dialer, string type, string cloneId, JsonObject? members = null, CancellationToken ct = default)
    {
        var request = new JsonObject { ["type"] = type, ["cloneId"] = cloneId };
        foreach (var (name, value) in members ?? [])
        {
            request[name] = value?.DeepClone();
        }

        var answer = await peer.RequestAsync(dialer, SyncProtocol.Id, request, ct);
        Assert.False(answer.Reset);
        Assert.Null(answer.ErrorCode);
        return answer.Body;
    }

    /// <summary>The same call over HTTP, signed by the clone; its body re-serialized the way the protocol answers are compared.</summary>
    private async Task<string> HttpAsync(SigningKey key, HttpMethod method, string target, string? body = null, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var http = gateway.CreateClient();
        var (status, json) = await SendAsync(http, gateway.Signed(key, method, target, body));
        Assert.Equal(expected, status);
        return JavaScriptJson.Stringify(json!);
    }
}
