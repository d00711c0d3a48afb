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

/// <summary>A real js-libp2p 3.x peer, running with a clone's DID key as its identity, speaking the <c>/vivim/*</c> protocols.</summary>
[Collection(GatewayCollection.Name)]
public sealed class VivimProtocolJsTests(GatewayFixture gateway)
{
    [Fact]
    public async Task A_js_libp2p_clone_registers_pulls_verifies_submits_and_acks_and_bad_input_leaves_the_host_serving()
    {
        using var cts = TestUtil.InteropTimeout();
        var ct = cts.Token;
        var (_, apiKey) = await gateway.CreateTenantAsync("p2p-js");
        var did = await gateway.CreateExitNodeAsync(apiKey);
        await WriteAsync(gateway, apiKey, did, ("memoryIndex/notes/1", """{"text":"one"}"""));
        await using var peer = await VivimProtocolTestKit.StartAsync(gateway.Services);
        using var key = SigningKey.Generate();
        await using var js = await JsPeer.StartAsync(ct, "peer.mjs", $"--seed={Convert.ToHexStringLower(key.ExportSeed())}");
        await using var stranger = await JsPeer.StartAsync(ct);

        async Task<JsonObject> Answer(JsPeer from, string protocol, JsonObject request)
        {
            var reply = await from.CommandAsync(new JsonObject { ["cmd"] = "vivimRequest", ["addr"] = peer.Address, ["protocol"] = protocol, ["json"] = request.ToJsonString() }, ct);
            Assert.False(reply["reset"]!.GetValue<bool>(), reply.ToJsonString());
            return reply["answer"]!.AsObject();
        }

        async Task<JsonObject> Sync(string type, string cloneId, JsonObject? members = null)
        {
            var request = new JsonObject { ["type"] = type, ["cloneId"] = cloneId };
            foreach (var (name, value) in members ?? [])
            {
                request[name] = value?.DeepClone();
            }

            var answer = await Answer(js, SyncProtocol.Id, request);
            Assert.Null(answer["error"]);
            return answer;
        }

        var advertisement = ProtocolJson.ParseObject((await Answer(js, ExitNodeProtocol.Id, new JsonObject { ["did"] = did })).ToJsonString());
        Assert.True(SignatureV2.Verify(SignedKind.ExitNodeAdvertisement, advertisement, DidKey.Parse(did).PublicKey));

        var nonce = ExitNodeTestKit.NewNonce();
        var challenge = await Answer(js, CloneProtocol.Id, new JsonObject { ["type"] = "challenge", ["exitNode"] = did, ["did"] = key.Did.Value, ["nonce"] = nonce });
        var request = ProtocolModel.ToJsonObject(ExitNodeTestKit.Request(key, nonce));
        request["challengeResponse"] = challenge["challenge"]!.GetValue<string>();
        request["identityProof"] = ExitNodeTestKit.IdentityProof(key, challenge["challenge"]!.GetValue<string>(), nonce);
        var approved = await Answer(js, CloneProtocol.Id, VivimProtocolFlowTests.Register(did, request));
        Assert.True(approved["approved"]!.GetValue<bool>(), approved.ToJsonString());
        var cloneId = approved["cloneId"]!.GetValue<string>();

        var verifier = Verifier(did);
        var replica = new CloneReplica();
        verifier.LoadSnapshot(replica, ProtocolModel.FromJsonObject<StateSnapshot>(ProtocolJson.ParseObject((await Sync("snapshot", cloneId)).ToJsonString())));
        await WriteAsync(gateway, apiKey, did, ("memoryIndex/notes/2", """{"text":"two"}"""));
        Apply(verifier, replica, ProtocolJson.ParseObject((await Sync("updates", cloneId, new JsonObject { ["after"] = replica.Cursor })).ToJsonString()));
        Assert.Equal(2, replica.Cursor);

        await gateway.Grains.GetGrain<Vivim.ExitNodes.IExitNodeGrain>(did).AsOperator(gateway, n => n.DelegateTrustAsync(cloneId, TrustLevel.Secondary, ["read", "write"]));
        var update = JsonNode.Parse(ExitNodeTestKit.SignedUpdate(key, cloneId, "memoryIndex/notes/3", JsonNode.Parse("""{"text":"by js"}""")!))!;
        Assert.Equal(3, (await Sync("submit", cloneId, new JsonObject { ["updates"] = new JsonArray(update) }))["receipts"]![0]!["seq"]!.GetValue<double>());
        Assert.Empty(await Sync("ack", cloneId, new JsonObject { ["seq"] = 3 }));
        Assert.Equal(3, (await Sync("status", cloneId))["cursor"]!.GetValue<double>());

        // Bad input from js: broken framing resets, bad JSON and strangers get errors; the host keeps serving the clone.
        var truncated = await js.CommandAsync(new JsonObject { ["cmd"] = "vivimRequest", ["addr"] = peer.Address, ["protocol"] = SyncProtocol.Id, ["raw"] = "ff" }, ct);
        Assert.True(truncated["reset"]!.GetValue<bool>(), truncated.ToJsonString());
        var oversize = await js.CommandAsync(new JsonObject { ["cmd"] = "vivimRequest", ["addr"] = peer.Address, ["protocol"] = CloneProtocol.Id, ["raw"] = "818040" }, ct);
        Assert.True(oversize["reset"]!.GetValue<bool>(), oversize.ToJsonString());
        var malformed = await js.CommandAsync(new JsonObject { ["cmd"] = "vivimRequest", ["addr"] = peer.Address, ["protocol"] = ExitNodeProtocol.Id, ["raw"] = "037b7b7b" }, ct);
        Assert.Equal("json-malformed", malformed["answer"]!["error"]!["code"]!.GetValue<string>());
        Assert.Equal("invalid-request", (await Answer(js, SyncProtocol.Id, new JsonObject { ["type"] = "updates", ["cloneId"] = cloneId, ["limit"] = "ten" }))["error"]!["code"]!.GetValue<string>());
        Assert.Equal("invalid-request", (await Answer(js, SyncProtocol.Id, new JsonObject { ["type"] = "merge", ["cloneId"] = cloneId }))["error"]!["code"]!.GetValue<string>());
        Assert.Equal("unauthorized", (await Answer(stranger, SyncProtocol.Id, new JsonObject { ["type"] = "snapshot", ["cloneId"] = cloneId }))["error"]!["code"]!.GetValue<string>());
        Assert.Equal(3, (await Sync("status", cloneId))["headSeq"]!.GetValue<double>());
    }
}
