using System.Net;
using System.Text.Json.Nodes;
using Vivim.Client.Replica;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Protocol.State;
using Vivim.Tests.Grains;
using Vivim.Tests.Support;
using static Vivim.Tests.Gateway.GatewayTestKit;

namespace Vivim.Tests.Gateway;

/// <summary>The API end to end on real Kestrel: tenant, exit node, registration, sync pulls, writes from owner and clone.</summary>
[Collection(GatewayCollection.Name)]
public sealed class GatewayFlowTests(GatewayFixture gateway)
{
    [Fact]
    public async Task From_tenant_creation_to_a_clone_verifying_updates_written_by_the_owner_and_by_another_clone()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync("flow");
        var did = await gateway.CreateExitNodeAsync(apiKey, new JsonObject
        {
            ["capabilities"] = new JsonArray("storage", "memory", "identity", "content"),
            ["policy"] = new JsonObject { ["maxClones"] = 50, ["allowMigration"] = true, ["requireVerification"] = true },
        });

        // Discovery: the advertisement is public and signed (v2), with the nested v1-signed anchorState.
        using var anonymous = gateway.CreateClient();
        var advertisement = ProtocolJson.ParseObject(await anonymous.GetStringAsync($"/v1/exit-nodes/{did}/advertisement"));
        Assert.True(SignatureV2.Verify(SignedKind.ExitNodeAdvertisement, advertisement, DidKey.Parse(did).PublicKey));
        Assert.True(SignatureV1.Verify(SignedKind.AnchorState, advertisement["anchorState"]!.AsObject(), DidKey.Parse(did).PublicKey));

        await WriteAsync(gateway, apiKey, did, ("memoryIndex/notes/1", """{"text":"before"}"""));
        var reader = await RegisterAsync(gateway, did);
        var writer = await RegisterAsync(gateway, did);

        // The snapshot as SDK 1.x checks it (v1 signature and v1 root) and as we do (v2 proof, rootV2).
        var snapshotJson = ProtocolJson.ParseObject(ProtocolModel.ToJson(reader.Snapshot));
        Assert.True(SignatureV1.Verify(SignedKind.StateSnapshot, snapshotJson, DidKey.Parse(did).PublicKey));
        Assert.Equal(snapshotJson["merkleRoot"]!.GetValue<string>(), SnapshotRootV1.Compute(snapshotJson["state"]!));
        var verifier = Verifier(did);
        var replica = new CloneReplica();
        verifier.LoadSnapshot(replica, reader.Snapshot);
        Assert.Equal(1, replica.Cursor);

        // The owner writes, and the other clone writes a signed update of its own (it needs write permission).
        using var owner = gateway.CreateClient(apiKey);
        await WriteAsync(gateway, apiKey, did, ("memoryIndex/notes/2", """{"text":"by owner"}"""));
        var refused = await SubmitAsync(writer, ExitNodeTestKit.SignedUpdate(writer.Key, writer.CloneId, "memoryIndex/notes/3", JsonNode.Parse("""{"text":"by clone"}""")!));
        Assert.Equal(HttpStatusCode.Forbidden, refused.Status); // read-only by default
        Assert.Equal("write-forbidden", refused.Body!["code"]!.GetValue<string>());

        using (var grant = await owner.PostAsync($"/v1/exit-nodes/{did}/clones/{writer.CloneId}/reinstate", GatewayFixture.Json(new JsonObject())))
        {
            Assert.Equal(HttpStatusCode.Conflict, grant.StatusCode); // not suspended: nothing to reinstate
        }

        await gateway.Grains.GetGrain<Vivim.ExitNodes.IExitNodeGrain>(did).AsOperator(gateway, n => n.DelegateTrustAsync(writer.CloneId, TrustLevel.Secondary, ["read", "write"]));
        var written = await SubmitAsync(writer, ExitNodeTestKit.SignedUpdate(writer.Key, writer.CloneId, "memoryIndex/notes/3", JsonNode.Parse("""{"text":"by clone"}""")!));
        Assert.Equal(HttpStatusCode.OK, written.Status);
        Assert.Equal(3, written.Body!["receipts"]![0]!["seq"]!.GetValue<long>());

        // The reader pulls, verifies every commit signature, update hash and root, and ends at the anchor's root.
        using var http = gateway.CreateClient();
        var (status, page) = await SendAsync(http, gateway.Signed(reader.Key, HttpMethod.Get, $"/v1/clones/{reader.CloneId}/updates?after={replica.Cursor}&limit=100"));
        Assert.Equal(HttpStatusCode.OK, status);
        Apply(verifier, replica, page!);
        var node = JsonNode.Parse(await owner.GetStringAsync($"/v1/exit-nodes/{did}"))!;
        Assert.Equal(3, replica.Cursor);
        Assert.Equal(node["root"]!.GetValue<string>(), replica.Root);
        Assert.True(replica.TryGetDocument("memoryIndex/notes/3", out var byClone));
        Assert.Equal("""{"text":"by clone"}""", byClone.Text);

        // Ack, then status says where the clone is.
        var (ackStatus, _) = await SendAsync(http, gateway.Signed(reader.Key, HttpMethod.Post, $"/v1/clones/{reader.CloneId}/ack", """{"seq":3}"""));
        Assert.Equal(HttpStatusCode.NoContent, ackStatus);
        var (_, clonesStatus) = await SendAsync(http, gateway.Signed(reader.Key, HttpMethod.Get, $"/v1/clones/{reader.CloneId}/status"));
        Assert.Equal(3, clonesStatus!["cursor"]!.GetValue<long>());
        Assert.Equal(0, clonesStatus["pendingUpdates"]!.GetValue<long>());
        Assert.Equal(did, clonesStatus["parentDid"]!.GetValue<string>());

        // The owner reads a document with its proof, and lists the clones.
        var document = JsonNode.Parse(await owner.GetStringAsync($"/v1/exit-nodes/{did}/documents/memoryIndex/notes/2"))!;
        Assert.Equal("by owner", document["document"]!["text"]!.GetValue<string>());
        Assert.Equal(node["root"]!.GetValue<string>(), document["root"]!.GetValue<string>());
        var clones = JsonNode.Parse(await owner.GetStringAsync($"/v1/exit-nodes/{did}/clones?limit=1"))!;
        Assert.Single(clones["items"]!.AsArray());
        Assert.NotNull(clones["nextCursor"]);
        Assert.Equal("secondary", clones["items"]![0]!["trustLevel"]!.GetValue<string>());
    }

    [Fact]
    public async Task Suspension_cuts_a_clone_off_at_once_and_reinstatement_restores_it()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        var clone = await RegisterAsync(gateway, did);
        using var owner = gateway.CreateClient(apiKey);
        using var http = gateway.CreateClient();

        using (var suspend = await owner.PostAsync($"/v1/exit-nodes/{did}/clones/{clone.CloneId}/suspend", GatewayFixture.Json(new JsonObject { ["reason"] = "lost phone" })))
        {
            Assert.Equal(HttpStatusCode.OK, suspend.StatusCode);
            var proof = ProtocolJson.ParseObject(await suspend.Content.ReadAsStringAsync());
            Assert.Equal("suspended", proof["payload"]!["trustLevel"]!.GetValue<string>());
            Assert.True(SignatureV2.Verify(SignedKind.TrustProof, proof, DidKey.Parse(did).PublicKey));
        }

        var (status, body) = await SendAsync(http, gateway.Signed(clone.Key, HttpMethod.Get, $"/v1/clones/{clone.CloneId}/snapshot"));
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("clone-revoked", body!["code"]!.GetValue<string>());

        using (var reinstate = await owner.PostAsync($"/v1/exit-nodes/{did}/clones/{clone.CloneId}/reinstate", GatewayFixture.Json(new JsonObject())))
        {
            Assert.Equal(HttpStatusCode.OK, reinstate.StatusCode);
        }

        (status, _) = await SendAsync(http, gateway.Signed(clone.Key, HttpMethod.Get, $"/v1/clones/{clone.CloneId}/snapshot"));
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task Export_streams_the_signed_snapshot_and_the_log_and_deletion_removes_node_clones_and_data()
    {
        var (tenantId, apiKey) = await gateway.CreateTenantAsync();
        using var seed = SigningKey.Generate();
        var seedHex = Convert.ToHexStringLower(seed.ExportSeed());
        var did = await gateway.CreateExitNodeAsync(apiKey, new JsonObject { ["privateKeySeedHex"] = seedHex });
        Assert.Equal(seed.Did.Value, did);
        await WriteAsync(gateway, apiKey, did, ("memoryIndex/a", "1"), ("memoryIndex/b", "2"));
        await WriteAsync(gateway, apiKey, did, ("memoryIndex/c", "3"));
        var clone = await RegisterAsync(gateway, did);

        using var owner = gateway.CreateClient(apiKey);
        var export = ProtocolJson.ParseObject(await owner.GetStringAsync($"/v1/exit-nodes/{did}/export"));
        Assert.Equal(did, export["did"]!.GetValue<string>());
        Assert.Equal(3, export["snapshot"]!["seq"]!.GetValue<double>());
        Assert.Equal([1.0, 2.0, 3.0], export["updates"]!.AsArray().Select(u => u!["seq"]!.GetValue<double>()));
        Assert.Equal(2, export["commits"]!.AsArray().Count);
        var replica = new CloneReplica();
        var verifier = Verifier(did);
        Apply(verifier, replica, new JsonObject { ["updates"] = export["updates"]!.DeepClone(), ["commits"] = export["commits"]!.DeepClone(), ["headSeq"] = 3 });
        Assert.Equal(export["snapshot"]!["rootV2"]!.GetValue<string>(), replica.Root);

        // The same DID cannot be hosted twice, by this tenant or another.
        var (_, otherKey) = await gateway.CreateTenantAsync();
        using var other = gateway.CreateClient(otherKey);
        using (var again = await other.PostAsync("/v1/exit-nodes", GatewayFixture.Json(new JsonObject { ["privateKeySeedHex"] = seedHex })))
        {
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
            Assert.Equal("already-hosted", JsonNode.Parse(await again.Content.ReadAsStringAsync())!["code"]!.GetValue<string>());
        }

        using (var deleted = await owner.DeleteAsync($"/v1/exit-nodes/{did}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        using (var gone = await owner.GetAsync($"/v1/exit-nodes/{did}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        }

        using var http = gateway.CreateClient();
        // The clone's record is erased with its exit node, so it is no longer known at all (not merely revoked).
        var (status, _) = await SendAsync(http, gateway.Signed(clone.Key, HttpMethod.Get, $"/v1/clones/{clone.CloneId}/snapshot"));
        Assert.Equal(HttpStatusCode.Unauthorized, status);

        // Its data is gone: hosting the DID again starts from an empty log.
        var again2 = await gateway.CreateExitNodeAsync(otherKey, new JsonObject { ["privateKeySeedHex"] = seedHex });
        var fresh = JsonNode.Parse(await other.GetStringAsync($"/v1/exit-nodes/{again2}"))!;
        Assert.Equal(0, fresh["headSeq"]!.GetValue<long>());

        using var operatorClient = gateway.CreateClient(gateway.OperatorKey);
        using (var removed = await operatorClient.DeleteAsync($"/v1/tenants/{tenantId}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        }

        using (var refused = await owner.GetAsync("/v1/exit-nodes"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }
    }

    [Fact]
    public async Task Api_keys_rotate_and_lists_page_with_a_cursor()
    {
        var (_, firstKey) = await gateway.CreateTenantAsync();
        using var first = gateway.CreateClient(firstKey);
        using var created = await first.PostAsync("/v1/tenants/self/api-keys", null);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var secondKey = JsonNode.Parse(await created.Content.ReadAsStringAsync())!["apiKey"]!.GetValue<string>();
        var firstKeyId = firstKey.Split('.')[2];

        using var second = gateway.CreateClient(secondKey);
        using (var revoked = await second.DeleteAsync($"/v1/tenants/self/api-keys/{firstKeyId}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        }

        using (var old = await first.GetAsync("/v1/exit-nodes"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, old.StatusCode);
        }

        var dids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            dids.Add(await gateway.CreateExitNodeAsync(secondKey));
        }

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = JsonNode.Parse(await second.GetStringAsync("/v1/exit-nodes?limit=2" + (cursor is null ? string.Empty : "&cursor=" + Uri.EscapeDataString(cursor))))!;
            seen.AddRange(page["items"]!.AsArray().Select(i => i!["did"]!.GetValue<string>()));
            cursor = page["nextCursor"]?.GetValue<string>();
        }
        while (cursor is not null);

        Assert.Equal(dids.Order(StringComparer.Ordinal), seen);
    }

    [Fact]
    public async Task An_exit_node_created_with_write_permission_for_clones_accepts_their_signed_writes()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey, new JsonObject { ["defaultPermissions"] = new JsonArray("read", "write") });
        var clone = await RegisterAsync(gateway, did);
        Assert.Equal(["read", "write"], clone.Response["trustProof"]!["payload"]!["permissions"]!.AsArray().Select(p => p!.GetValue<string>()));
        var written = await SubmitAsync(clone, ExitNodeTestKit.SignedUpdate(clone.Key, clone.CloneId, "memoryIndex/mine", JsonValue.Create(1)));
        Assert.Equal(HttpStatusCode.OK, written.Status);

        using var owner = gateway.CreateClient(apiKey);
        using var wrong = await owner.PostAsync("/v1/exit-nodes", GatewayFixture.Json(new JsonObject { ["defaultPermissions"] = new JsonArray("admin") }));
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
    }

    [Fact]
    public async Task Reading_an_exit_node_answers_its_records_as_they_serialize_and_follows_every_change()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        using var owner = gateway.CreateClient(apiKey);
        var node = gateway.Grains.GetGrain<Vivim.ExitNodes.IExitNodeGrain>(did);

        // The answer is byte for byte what serializing the node's records into the documented members gives.
        async Task<JsonObject> ReadAndCompareAsync()
        {
            using var response = await owner.GetAsync($"/v1/exit-nodes/{did}");
            var text = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.ToString());
            var info = await node.AsOperator(gateway, n => n.GetInfoAsync());
            var advertisement = await node.AsOperator(gateway, n => n.GetAdvertisementAsync());
            var expected = JavaScriptJson.Stringify(
                new JsonObject
                {
                    ["did"] = info.Did,
                    ["advertisement"] = ProtocolModel.ToJsonObject(advertisement),
                    ["headSeq"] = info.HeadSeq,
                    ["root"] = info.Root,
                    ["cloneCount"] = info.CloneCount,
                    ["stateBytes"] = info.StateBytes,
                },
                JsonLimits.Snapshot);
            Assert.Equal(expected, text);
            return ProtocolJson.ParseObject(text);
        }

        // The gateway announces a new exit node on libp2p by having it re-sign its advertisement with the gateway's peer
        // id: read once that happened, so that it cannot change the advertisement between the two reads compared.
        await Until.TrueAsync(
            async () => (await node.AsOperator(gateway, n => n.GetAdvertisementAsync())).PeerId.Length > 0,
            () => "the gateway never announced the new exit node on libp2p");
        var first = await ReadAndCompareAsync();
        Assert.Equal(0, first["headSeq"]!.GetValue<double>());

        // A write moves the head; a new advertisement (re-signed) replaces the one read before, at once.
        await WriteAsync(gateway, apiKey, did, ("memoryIndex/notes/read", """{"text":"é \u2028 \"quoted\""}"""));
        await RegisterAsync(gateway, did);
        using (var change = await owner.PutAsync($"/v1/exit-nodes/{did}/advertisement", GatewayFixture.Json(new JsonObject { ["capabilities"] = new JsonArray("memory", "storage") })))
        {
            Assert.Equal(HttpStatusCode.OK, change.StatusCode);
        }

        var second = await ReadAndCompareAsync();
        Assert.Equal(1, second["headSeq"]!.GetValue<double>());
        Assert.Equal(1, second["cloneCount"]!.GetValue<double>());
        Assert.True(second["stateBytes"]!.GetValue<double>() > 0);
        Assert.Equal(["memory", "storage"], second["advertisement"]!["capabilities"]!.AsArray().Select(c => c!.GetValue<string>()));
        Assert.True(SignatureV2.Verify(SignedKind.ExitNodeAdvertisement, second["advertisement"]!.AsObject(), DidKey.Parse(did).PublicKey));
        Assert.NotEqual(first["advertisement"]!.ToJsonString(), second["advertisement"]!.ToJsonString());
    }

    private async Task<(HttpStatusCode Status, JsonObject? Body)> SubmitAsync(RegisteredClone clone, string updateJson)
    {
        using var http = gateway.CreateClient();
        var body = new JsonObject { ["updates"] = new JsonArray(JsonNode.Parse(updateJson)) }.ToJsonString();
        return await SendAsync(http, gateway.Signed(clone.Key, HttpMethod.Post, $"/v1/clones/{clone.CloneId}/updates", body));
    }
}

internal static class OperatorCalls
{
    /// <summary>A direct grain call in the gateway's silo as the operator (what an operator tool does).</summary>
    public static async Task<T> AsOperator<TGrain, T>(this TGrain grain, GatewayFixture gateway, Func<TGrain, Task<T>> call)
    {
        using (gateway.Principals.Enter(Vivim.Security.CallPrincipal.Operator))
        {
            return await call(grain);
        }
    }
}
