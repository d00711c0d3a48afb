using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Vivim.Tests.Grains;
using Vivim.Tests.Support;

namespace Vivim.Tests.Gateway.Hardening;

/// <summary>Every field a caller sends has its own bound, checked at the edge before any grain work.</summary>
[Collection(GatewayCollection.Name)]
public sealed class RequestBoundsTests(GatewayFixture gateway)
{
    [Fact]
    public async Task A_registration_with_a_60000_character_did_is_refused_at_the_edge()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        using var anonymous = gateway.CreateClient();
        var request = ProtocolModelRequest(new string('a', 60_000));

        using var response = await anonymous.PostAsync($"/v1/exit-nodes/{did}/register", GatewayFixture.Json(request));
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("invalid-request", problem["code"]!.GetValue<string>());
        Assert.Contains("'did' is longer than 128 characters", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.True(problem.ToJsonString().Length < 1024, "the answer must not echo the value");
    }

    [Theory]
    [InlineData("nonce", 300)]
    [InlineData("identityProof", 600)]
    [InlineData("requestedCloneId", 200)]
    public async Task Registration_fields_past_their_bound_are_refused(string field, int length)
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        using var anonymous = gateway.CreateClient();
        var request = ProtocolModelRequest("did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH");
        request[field] = new string('a', length);

        using var response = await anonymous.PostAsync($"/v1/exit-nodes/{did}/register", GatewayFixture.Json(request));
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains($"'{field}'", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Route_values_past_their_bound_are_400_problems()
    {
        using var anonymous = gateway.CreateClient();
        using var response = await anonymous.GetAsync($"/v1/exit-nodes/did:key:{new string('z', 300)}/advertisement");
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("'did'", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        using var clone = await anonymous.GetAsync($"/v1/clones/{new string('c', 300)}/status");
        Assert.Contains("'cloneId'", (await ProblemAsync(clone, HttpStatusCode.BadRequest))["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_10000_update_owner_batch_is_refused_before_it_is_signed()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        using var owner = gateway.CreateClient(apiKey);
        var updates = new JsonArray([.. Enumerable.Range(0, 10_000).Select(i => (JsonNode)new JsonObject
        {
            ["type"] = "memory",
            ["operation"] = "create",
            ["path"] = $"memoryIndex/m{i}",
            ["data"] = i,
        })]);

        using var response = await owner.PostAsync($"/v1/exit-nodes/{did}/updates", GatewayFixture.Json(new JsonObject { ["updates"] = updates }));
        var problem = await ProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal("too-large", problem["code"]!.GetValue<string>());
        Assert.Contains("at most 1000 updates", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        // The exit node was never asked: its head is where it was, and it answers an owner write at once.
        await GatewayTestKit.WriteAsync(gateway, apiKey, did, ("memoryIndex/after", "{\"n\":1}"));
        Assert.Equal(1, JsonNode.Parse(await owner.GetStringAsync($"/v1/exit-nodes/{did}"))!["headSeq"]!.GetValue<long>());
    }

    [Fact]
    public async Task Error_bodies_are_problems_written_for_the_caller()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        using var owner = gateway.CreateClient(apiKey);
        using var anonymous = gateway.CreateClient();

        var answers = new List<(string What, HttpResponseMessage Response)>
        {
            ("no document path", await owner.GetAsync($"/v1/exit-nodes/{did}/documents/")),
            ("limit=abc", await owner.GetAsync("/v1/exit-nodes?limit=abc")),
            ("clones limit=abc", await owner.GetAsync($"/v1/exit-nodes/{did}/clones?limit=abc")),
            ("owner update without a path", await owner.PostAsync($"/v1/exit-nodes/{did}/updates", Body("{\"updates\":[{\"type\":\"memory\",\"operation\":\"create\",\"data\":1}]}"))),
            ("owner update with an unknown member", await owner.PostAsync($"/v1/exit-nodes/{did}/updates", Body("{\"updates\":[{\"type\":\"memory\",\"operation\":\"create\",\"path\":\"memoryIndex/a\",\"colour\":1}]}"))),
            ("registration of the wrong shape", await anonymous.PostAsync($"/v1/exit-nodes/{did}/register", Body("{\"did\":1}"))),
            ("challenge with an empty nonce", await anonymous.PostAsync($"/v1/exit-nodes/{did}/challenge", Body("{\"did\":\"did:key:z6Mk\",\"nonce\":\"\"}"))),
            ("updates after=abc", await anonymous.GetAsync("/v1/clones/c1/updates?after=abc")),
        };

        foreach (var (what, response) in answers)
        {
            using (response)
            {
                var text = await response.Content.ReadAsStringAsync();
                Assert.True((int)response.StatusCode is >= 400 and < 500, $"{what}: {(int)response.StatusCode} {text}");
                Assert.True(response.Content.Headers.ContentType?.MediaType == "application/problem+json", $"{what}: {response.Content.Headers.ContentType} '{text}'");
                var problem = JsonNode.Parse(text)!;
                Assert.False(string.IsNullOrEmpty(problem["code"]?.GetValue<string>()), $"{what}: {text}");
                var detail = problem["detail"]!.GetValue<string>();
                Assert.DoesNotMatch(@"Vivim\.|System\.|Microsoft\.|\(Parameter '|\+[A-Z]|Int32|String |int\?|primaryKey", detail);
            }
        }
    }

    [Theory]
    [InlineData("GET /v1/exit-nodes/did:key:z6Mk/documents/memoryIndex/a%00b HTTP/1.1", 400, "bad-request")]
    [InlineData("GET /v1/exit-nodes/{long} HTTP/1.1", 414, "too-large")]
    [InlineData("GET /v1/exit-nodes HTTP/1.1\r\nX-Big: {long}{long}{long}{long}", 431, "too-large")]
    [InlineData("GET /v1/exit nodes HTTP/1.1", 400, "bad-request")]
    public async Task Requests_the_http_server_refuses_before_the_api_are_problems_too(string head, int status, string code)
    {
        // Raw bytes on a socket: HttpClient itself would refuse to send most of these.
        using var socket = new System.Net.Sockets.TcpClient();
        await socket.ConnectAsync(gateway.BaseAddress.Host, gateway.BaseAddress.Port);
        var stream = socket.GetStream();
        var request = head.Replace("{long}", new string('a', 9 * 1024), StringComparison.Ordinal) + $"\r\nHost: {gateway.BaseAddress.Authority}\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var answer = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30)); // the server closes the connection

        var split = answer.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(split > 0, answer);
        Assert.StartsWith($"HTTP/1.1 {status} ", answer, StringComparison.Ordinal);
        Assert.Contains("Content-Type: application/problem+json", answer[..split], StringComparison.Ordinal);
        var problem = JsonNode.Parse(answer[(split + 4)..])!;
        Assert.Equal(code, problem["code"]!.GetValue<string>());
        Assert.Equal(status, problem["status"]!.GetValue<int>());
    }

    private static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    private static JsonObject ProtocolModelRequest(string cloneDid) => new()
    {
        ["did"] = cloneDid,
        ["desiredCapabilities"] = new JsonArray("storage"),
        ["preferredNetwork"] = "mainnet",
        ["identityProof"] = "",
        ["timestamp"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        ["nonce"] = ExitNodeTestKit.NewNonce(),
    };

    private static async Task<JsonObject> ProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonNode.Parse(text)!.AsObject();
    }
}
