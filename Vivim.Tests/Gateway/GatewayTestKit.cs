using System.Net;
using System.Text.Json.Nodes;
using Vivim.Client.Replica;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Tests.Grains;
using Vivim.Tests.Support;

namespace Vivim.Tests.Gateway;

/// <summary>The SDK's flows over the HTTP API, as a test drives them.</summary>
internal static class GatewayTestKit
{
    public sealed record RegisteredClone(SigningKey Key, string CloneId, StateSnapshot Snapshot, JsonObject Response);

    /// <summary>Challenge, prove, register: the SDK's round trip over HTTP; asserts approval.</summary>
    public static async Task<RegisteredClone> RegisterAsync(GatewayFixture gateway, string did, SigningKey? key = null)
    {
        key ??= SigningKey.Generate();
        using var http = gateway.CreateClient();
        var nonce = ExitNodeTestKit.NewNonce();
        var request = ProtocolModel.ToJsonObject(ExitNodeTestKit.Request(key, nonce));
        using var first = await http.PostAsync($"/v1/exit-nodes/{did}/register", GatewayFixture.Json(request));
        Assert.Equal(HttpStatusCode.Forbidden, first.StatusCode);
        var challenged = JsonNode.Parse(await first.Content.ReadAsStringAsync())!.AsObject();
        Assert.Equal("Challenge required", challenged["denialReason"]!.GetValue<string>());
        var challenge = challenged["challenge"]!["challenge"]!.GetValue<string>();

        request["challengeResponse"] = challenge;
        request["identityProof"] = ExitNodeTestKit.IdentityProof(key, challenge, nonce);
        using var second = await http.PostAsync($"/v1/exit-nodes/{did}/register", GatewayFixture.Json(request));
        var text = await second.Content.ReadAsStringAsync();
        Assert.True(second.StatusCode == HttpStatusCode.OK, text);
        var approved = ProtocolJson.ParseObject(text);
        Assert.True(approved["approved"]!.GetValue<bool>());
        var snapshot = ProtocolModel.FromJsonObject<StateSnapshot>(approved["initialState"]!.AsObject());
        return new RegisteredClone(key, approved["cloneId"]!.GetValue<string>(), snapshot, approved);
    }

    /// <summary>Owner writes of memory documents; returns the receipts' last seq.</summary>
    public static async Task<long> WriteAsync(GatewayFixture gateway, string apiKey, string did, params (string Path, string Json)[] documents)
    {
        using var http = gateway.CreateClient(apiKey);
        var updates = new JsonArray([.. documents.Select(d => (JsonNode)new JsonObject
        {
            ["type"] = "memory",
            ["operation"] = "create",
            ["path"] = d.Path,
            ["data"] = JsonNode.Parse(d.Json),
        })]);
        using var response = await http.PostAsync($"/v1/exit-nodes/{did}/updates", GatewayFixture.Json(new JsonObject { ["updates"] = updates }));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonNode.Parse(text)!["receipts"]!.AsArray()[^1]!["seq"]!.GetValue<long>();
    }

    public static async Task<(HttpStatusCode Status, JsonObject? Body)> SendAsync(HttpClient http, HttpRequestMessage request)
    {
        using (request)
        using (var response = await http.SendAsync(request))
        {
            var text = await response.Content.ReadAsStringAsync();
            return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text) as JsonObject);
        }
    }

    /// <summary>A page or batch (<c>{updates, commits, headSeq}</c>) verified and applied the way a clone does.</summary>
    public static void Apply(ChainVerifier verifier, CloneReplica replica, JsonObject page)
    {
        var updates = page["updates"]!.AsArray().Select(u => ProtocolModel.FromJsonObject<StateUpdate>(u!.AsObject())).ToList();
        var commits = page["commits"]!.AsArray().Select(c => ProtocolModel.FromJsonObject<Commit>(c!.AsObject())).ToList();
        verifier.Apply(replica, updates, commits, requireCompleteCommits: false);
    }

    public static ChainVerifier Verifier(string did) => new(did, DidKey.ResolvePublicKey(did), verifyAuthors: true);
}
