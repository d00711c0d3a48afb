using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Vivim.Protocol.Http;
using Vivim.Tests.Support;
using static Vivim.Tests.Gateway.GatewayTestKit;

namespace Vivim.Tests.Gateway;

/// <summary>Bad input gets a clear problem (or an error frame) and changes nothing.</summary>
[Collection(GatewayCollection.Name)]
public sealed class GatewayBadInputTests(GatewayFixture gateway)
{
    [Theory]
    [InlineData("{\"updates\":[", "json-malformed")]
    [InlineData("{\"updates\":[],\"updates\":[]}", "json-duplicate-key")]
    [InlineData("{\"updates\":\"x\"}", "invalid-request")]
    [InlineData("{\"updates\":[{\"type\":\"memory\",\"operation\":\"create\",\"path\":\"memoryIndex/a\",\"data\":1,\"baseSeq\":\"1\"}]}", "invalid-shape")]
    [InlineData("{\"updates\":[{\"type\":\"memory\",\"operation\":\"upsert\",\"path\":\"memoryIndex/a\",\"data\":1}]}", "invalid-shape")]
    [InlineData("{\"updates\":[{\"type\":\"memory\",\"operation\":\"create\",\"path\":\"nodes/a\",\"data\":1}]}", "invalid-path")]
    [InlineData("{\"updates\":[{\"type\":\"memory\",\"operation\":\"create\",\"path\":\"memoryIndex/a\",\"data\":1}],\"extra\":1}", "invalid-request")]
    [InlineData("{\"updates\":[{\"type\":\"memory\",\"operation\":\"create\",\"path\":\"memoryIndex/a\",\"data\":{\"x\":1,\"x\":2}}]}", "json-duplicate-key")]
    [InlineData("{\"updates\":[{\"type\":\"memory\",\"operation\":\"create\",\"path\":\"memoryIndex/a\",\"data\":\"\\ud800\"}]}", "json-lone-surrogate")]
    [InlineData("{\"updates\":[{\"type\":\"memory\",\"operation\":\"create\",\"path\":\"memoryIndex/a\",\"data\":1,\"extra\":1}]}", "invalid-shape")]
    [InlineData("{\"updates\":[{\"type\":\"memory\",\"operation\":\"create\",\"path\":\"memoryIndex/a\",\"data\":1},2]}", "invalid-request")]
    [InlineData("[{\"updates\":[]}]", "json-malformed")]
    public async Task Malformed_owner_batches_are_400_problems_and_commit_nothing(string body, string code)
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        using var owner = gateway.CreateClient(apiKey);
        using var response = await owner.PostAsync($"/v1/exit-nodes/{did}/updates", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(code, problem["code"]!.GetValue<string>());
        Assert.Equal(0, JsonNode.Parse(await owner.GetStringAsync($"/v1/exit-nodes/{did}"))!["headSeq"]!.GetValue<long>());
    }

    [Fact]
    public async Task Oversize_bodies_wrong_media_types_missing_keys_and_unknown_routes_are_problems()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        using var owner = gateway.CreateClient(apiKey);
        var huge = "{\"updates\":[{\"type\":\"memory\",\"operation\":\"create\",\"path\":\"memoryIndex/a\",\"data\":\"" + new string('x', 5 * 1024 * 1024) + "\"}]}";
        // Expect: 100-continue, so the refusal arrives before the client has sent 5 MiB into a closed connection.
        using (var tooLarge = new HttpRequestMessage(HttpMethod.Post, $"/v1/exit-nodes/{did}/updates") { Content = new StringContent(huge, Encoding.UTF8, "application/json") })
        {
            tooLarge.Headers.ExpectContinue = true;
            using var response = await owner.SendAsync(tooLarge);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Equal("too-large", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["code"]!.GetValue<string>());
        }

        using (var response = await owner.PostAsync($"/v1/exit-nodes/{did}/updates", new StringContent("{}", Encoding.UTF8, "text/plain")))
        {
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        }

        using var anonymous = gateway.CreateClient();
        using (var response = await anonymous.GetAsync("/v1/exit-nodes"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        using (var response = await anonymous.PostAsync("/v1/tenants", GatewayFixture.Json(new JsonObject { ["name"] = "x" })))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        using (var response = await anonymous.GetAsync("/v2/anything"))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        Assert.Equal(0, JsonNode.Parse(await owner.GetStringAsync($"/v1/exit-nodes/{did}"))!["headSeq"]!.GetValue<long>());
        var openApi = JsonNode.Parse(await anonymous.GetStringAsync("/openapi/v1.json"))!;
        Assert.NotNull(openApi["paths"]!["/v1/clones/{cloneId}/updates"]);
        Assert.NotNull(openApi["paths"]!["/v1/exit-nodes/{did}/register"]);
    }

    [Theory]
    [InlineData("{\"updates\":[", 400, "json-malformed")]
    [InlineData("{\"updates\":[{}],\"updates\":[{}]}", 400, "json-duplicate-key")]
    [InlineData("{\"updates\":\"x\"}", 400, "invalid-request")]
    [InlineData("{\"updates\":[]}", 400, "invalid-request")]
    [InlineData("{\"updates\":[{},1]}", 400, "invalid-request")]
    [InlineData("{\"updates\":[{}],\"extra\":1}", 400, "invalid-request")]
    [InlineData("[{}]", 400, "json-malformed")]
    [InlineData("{\"updates\":[{}]} {}", 400, "json-malformed")]
    [InlineData("{\"updates\":[{\"updateId\":\"a\",\"updateId\":\"b\"}]}", 400, "invalid-json")]
    [InlineData("{\"updates\":[{\"updateId\":\"\\ud800\"}]}", 400, "invalid-json")]
    public async Task Malformed_clone_batches_are_problems_and_commit_nothing(string body, int status, string code)
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey, new JsonObject { ["defaultPermissions"] = new JsonArray("read", "write") });
        var clone = await RegisterAsync(gateway, did);
        using var http = gateway.CreateClient();
        var (got, problem) = await SendAsync(http, gateway.Signed(clone.Key, HttpMethod.Post, $"/v1/clones/{clone.CloneId}/updates", body));
        Assert.Equal((HttpStatusCode)status, got);
        var codes = problem!["code"]!.GetValue<string>() == code
            || (problem["rejections"] as JsonArray)?.Any(r => r!["code"]!.GetValue<string>() == code) == true;
        Assert.True(codes, $"expected {code} in {problem.ToJsonString()}");

        var (_, head) = await SendAsync(http, gateway.Signed(clone.Key, HttpMethod.Get, $"/v1/clones/{clone.CloneId}/status"));
        Assert.Equal(0, head!["headSeq"]!.GetValue<long>());
    }

    [Fact]
    public async Task Bad_replayed_stale_and_mismatched_signatures_are_401()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        var clone = await RegisterAsync(gateway, did);
        using var http = gateway.CreateClient();
        var target = $"/v1/clones/{clone.CloneId}/ack";

        // Replay: the same nonce twice.
        var (first, _) = await SendAsync(http, gateway.Signed(clone.Key, HttpMethod.Post, target, """{"seq":0}""", nonce: "once"));
        Assert.Equal(HttpStatusCode.NoContent, first);
        var (replayed, problem) = await SendAsync(http, gateway.Signed(clone.Key, HttpMethod.Post, target, """{"seq":0}""", nonce: "once"));
        Assert.Equal(HttpStatusCode.Unauthorized, replayed);
        Assert.Contains("nonce", problem!["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        // Stale created.
        var (stale, staleProblem) = await SendAsync(http, gateway.Signed(clone.Key, HttpMethod.Get, $"/v1/clones/{clone.CloneId}/status", created: DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 3600));
        Assert.Equal(HttpStatusCode.Unauthorized, stale);
        Assert.Equal("stale-signature", staleProblem!["code"]!.GetValue<string>());

        // A body other than the digest says, and a digest that matches but a signature over another body.
        var request = gateway.Signed(clone.Key, HttpMethod.Post, target, """{"seq":0}""");
        request.Content = new StringContent("""{"seq":1}""", Encoding.UTF8, "application/json");
        var (digest, digestProblem) = await SendAsync(http, request);
        Assert.Equal(HttpStatusCode.Unauthorized, digest);
        Assert.Contains("Content-Digest", digestProblem!["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        var tampered = gateway.Signed(clone.Key, HttpMethod.Post, target, """{"seq":0}""");
        tampered.Content = new StringContent("""{"seq":1}""", Encoding.UTF8, "application/json");
        tampered.Headers.Remove(HttpMessageSignature.ContentDigestHeader);
        tampered.Headers.TryAddWithoutValidation(HttpMessageSignature.ContentDigestHeader, ContentDigest.Compute("""{"seq":1}"""u8));
        var (signature, _) = await SendAsync(http, tampered);
        Assert.Equal(HttpStatusCode.Unauthorized, signature);

        // No signature at all, and garbage headers.
        var (unsigned, _) = await SendAsync(http, new HttpRequestMessage(HttpMethod.Get, $"/v1/clones/{clone.CloneId}/status"));
        Assert.Equal(HttpStatusCode.Unauthorized, unsigned);
        var garbage = new HttpRequestMessage(HttpMethod.Get, $"/v1/clones/{clone.CloneId}/status");
        garbage.Headers.TryAddWithoutValidation("Signature-Input", "sig1=((((");
        garbage.Headers.TryAddWithoutValidation("Signature", "sig1=:!!:");
        var (malformed, malformedProblem) = await SendAsync(http, garbage);
        Assert.Equal(HttpStatusCode.Unauthorized, malformed);
        Assert.Equal("invalid-request-signature", malformedProblem!["code"]!.GetValue<string>());

        // The clone's cursor never moved.
        var (_, status) = await SendAsync(http, gateway.Signed(clone.Key, HttpMethod.Get, $"/v1/clones/{clone.CloneId}/status"));
        Assert.Equal(0, status!["cursor"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_flooding_tenant_gets_429_with_retry_after_while_another_tenant_is_served()
    {
        var (_, floodKey) = await gateway.CreateTenantAsync("flood", new JsonObject { ["requestsPerSecond"] = 5 });
        var (_, calmKey) = await gateway.CreateTenantAsync("calm");
        using var flood = gateway.CreateClient(floodKey);
        using var calm = gateway.CreateClient(calmKey);

        var statuses = new List<HttpStatusCode>();
        string? retryAfter = null;
        for (var i = 0; i < 40; i++)
        {
            using var response = await flood.GetAsync("/v1/exit-nodes");
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                retryAfter ??= response.Headers.RetryAfter?.ToString();
                Assert.Equal("rate-limited", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["code"]!.GetValue<string>());
            }

            using var other = await calm.GetAsync("/v1/exit-nodes");
            Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        }

        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        Assert.Contains(HttpStatusCode.OK, statuses);
        Assert.True(int.Parse(retryAfter!, System.Globalization.CultureInfo.InvariantCulture) >= 1);
    }

    [Fact]
    public async Task Writes_past_the_bytes_of_state_quota_are_403_quota_exceeded_and_commit_nothing()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync("small", new JsonObject { ["maxStateBytesPerExitNode"] = 64 });
        var did = await gateway.CreateExitNodeAsync(apiKey);
        var seq = await WriteAsync(gateway, apiKey, did, ("memoryIndex/a", "{\"t\":\"0123456789012345678901234567890123456789\"}"));
        using var http = gateway.CreateClient(apiKey);
        var node = JsonNode.Parse(await http.GetStringAsync($"/v1/exit-nodes/{did}"))!;
        Assert.Equal(48, node["stateBytes"]!.GetValue<long>());

        var updates = new JsonArray(new JsonObject { ["type"] = "memory", ["operation"] = "create", ["path"] = "memoryIndex/b", ["data"] = new JsonObject { ["t"] = new string('x', 20) } });
        using var response = await http.PostAsync($"/v1/exit-nodes/{did}/updates", GatewayFixture.Json(new JsonObject { ["updates"] = updates }));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("quota-exceeded", problem["code"]!.GetValue<string>());
        Assert.Equal("quota-exceeded", problem["rejections"]![0]!["code"]!.GetValue<string>());

        node = JsonNode.Parse(await http.GetStringAsync($"/v1/exit-nodes/{did}"))!;
        Assert.Equal((seq, 48L), (node["headSeq"]!.GetValue<long>(), node["stateBytes"]!.GetValue<long>()));
        var listed = JsonNode.Parse(await http.GetStringAsync("/v1/exit-nodes"))!["items"]![0]!;
        Assert.Equal(48, listed["stateBytes"]!.GetValue<long>());

        using var operatorHttp = gateway.CreateClient(GatewayFixture.TestOperatorKey);
        using var negative = await operatorHttp.PostAsync("/v1/tenants", GatewayFixture.Json(new JsonObject { ["name"] = "x", ["quotas"] = new JsonObject { ["maxStateBytesPerExitNode"] = -1 } }));
        Assert.Equal(HttpStatusCode.BadRequest, negative.StatusCode);
    }

    [Theory]
    [InlineData("not json", "invalid-message")]
    [InlineData("{\"type\":\"ack\",\"seq\":1}", "protocol-violation")]
    [InlineData("{\"type\":\"hello\",\"cursor\":-1}", "protocol-violation")]
    [InlineData("{\"type\":\"hello\",\"maxBatchSize\":100000}", "protocol-violation")]
    [InlineData("{\"type\":\"hello\",\"cursor\":0,\"bogus\":true}", "protocol-violation")]
    public async Task WebSocket_garbage_and_protocol_violations_get_an_error_frame_then_close(string first, string code)
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        var clone = await RegisterAsync(gateway, did);
        using var socket = await SyncSocketTests.ConnectAsync(gateway, clone);
        await socket.SendAsync(Encoding.UTF8.GetBytes(first), WebSocketMessageType.Text, true, CancellationToken.None);
        var error = await SyncSocketTests.ReceiveAsync(socket);
        Assert.Equal("error", error!["type"]!.GetValue<string>());
        Assert.Equal(code, error["code"]!.GetValue<string>());
        Assert.Null(await SyncSocketTests.ReceiveAsync(socket));
        Assert.Equal(WebSocketCloseStatus.ProtocolError, socket.CloseStatus);

        // The gateway is fine and so is the clone.
        using var http = gateway.CreateClient();
        var (status, _) = await SendAsync(http, gateway.Signed(clone.Key, HttpMethod.Get, $"/v1/clones/{clone.CloneId}/status"));
        Assert.Equal(HttpStatusCode.OK, status);
    }
}
