using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Vivim.Protocol.Http;
using Vivim.Protocol.Model;
using Vivim.Tests.Grains;
using Vivim.Tests.Support;
using Xunit.Abstractions;

namespace Vivim.Tests.Gateway.Hardening;

/// <summary>A gateway of its own for the fuzzer, its address and DID buckets opened up so refusals come from the values, not from rate limits.</summary>
public sealed class ApiFuzzGateway : IAsyncLifetime
{
    public GatewayFixture Gateway { get; } = new()
    {
        ExtraArguments = ["--Vivim:RateLimits:PerAddressPerSecond=1000000", "--Vivim:RateLimits:PerDidPerSecond=1000000"],
    };

    public Task InitializeAsync() => Gateway.InitializeAsync();

    public Task DisposeAsync() => Gateway.DisposeAsync();
}

/// <summary>
/// Every operation of the OpenAPI document, called with valid credentials and then a hostile value in one field at a
/// time (path parameters, query parameters, each body member and the body as a whole): sizes, types, encodings. No
/// answer may be a 5xx, every 4xx is a problem with a code and as the document declares it, and a refused request
/// changes nothing.
/// </summary>
public sealed class ApiFuzzTests(ApiFuzzGateway fixture, ITestOutputHelper output) : IClassFixture<ApiFuzzGateway>
{
    private const string Placeholder = "__fuzz__";

    private static readonly string[] HostilePathValues =
    [
        "%00", "..", "%2E%2E", "a%2Fb", new string('x', 2000), "%E2%80%AE%E2%80%AE", "did%3Akey%3Az6Mk" + new string('A', 44),
        "-1", "%27%20OR%201%3D1--", "%F0%9F%98%80", "%FF%FE", "%20", "%0D%0Ax",
    ];

    private static readonly string[] HostileQueryValues = ["abc", "-1", "0", "1.5", "99999999999999999999", new string('9', 600), "%00", "", "1e3", "%FF"];

    private static readonly string[] HostileJsonValues =
    [
        "\"\"", "\"" + new string('a', 1000) + "\"", "\"" + new string('a', 70_000) + "\"", "\"\\u0000\"", "\"\\ud800\"", "\"\\u202e\"",
        "-1", "0", "1e308", "9007199254740993", "1.5", "true", "null", "[]", "{}",
        new string('[', 200) + new string(']', 200), "{\"a\":" + new string('[', 70) + new string(']', 70) + "}",
    ];

    private static readonly string[] HostileBodies =
    [
        "null", "[]", "{", "\"x\"", "{\"a\":1,\"a\":2}", "{\"" + new string('k', 70_000) + "\":1}", "\u00ff\u00fe", "{\"updates\":[1,2,3]}",
    ];

    private static readonly (string Name, string Value)[] HostileHeaders =
    [
        ("Authorization", "Bearer"), ("Authorization", "Basic Zm9vOmJhcg=="), ("Authorization", "Bearer " + new string('a', 10_000)),
        ("Authorization", "Bearer vk.a1.k1." + new string('c', 43)), ("Content-Type", "text/plain"),
        ("Signature-Input", "sig1=(\"@method\");created=1;keyid=\"x\";alg=\"ed25519\""), ("Signature", "sig1=:" + new string('A', 5000) + ":"),
        ("Content-Digest", "sha-256=:AAAA:"),
    ];

    private GatewayFixture Gateway => fixture.Gateway;

    public static TheoryData<string> Operations()
    {
        var data = new TheoryData<string>();
        foreach (var (_, _, operation) in OpenApiContract.Served.Operations)
        {
            var id = operation["operationId"]!.GetValue<string>();
            if (id != "openSyncChannel") // a WebSocket upgrade: its bad input is SyncSocketTests'
            {
                data.Add(id);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Operations))]
    public async Task Hostile_values_in_every_field_get_problems_and_change_nothing(string operationId)
    {
        var (method, template, operation) = OpenApiContract.Served.Operations.Single(o => o.Operation["operationId"]!.GetValue<string>() == operationId);
        var world = await World.CreateAsync(Gateway);
        var call = new Call(method.ToUpperInvariant(), template, operation, () => world);
        var findings = new List<string>();
        var fingerprint = await world.FingerprintAsync();
        var requests = 0;

        async Task Try(string what, Dictionary<string, string> path, Dictionary<string, string> query, string? body, (string Name, string Value)? header = null)
        {
            requests++;
            var answer = await call.SendAsync(path, query, body, header);
            if (answer.Status >= 500)
            {
                findings.Add($"{what}: {answer.Status} {Clip(answer.Body)}");
                return;
            }

            findings.AddRange(answer.Problems.Select(p => $"{what}: {p}"));
            if (answer.Status >= 400)
            {
                var now = await world.FingerprintAsync();
                if (now != fingerprint)
                {
                    findings.Add($"{what}: refused with {answer.Status}, yet the state changed:\n  before {fingerprint}\n  after  {now}");
                }

                fingerprint = now;
            }
            else if (await world.FingerprintOrNullAsync() is { } now)
            {
                fingerprint = now;
            }
            else
            {
                // A valid request deleted the world (a hostile header beside valid credentials, or a dot segment that
                // led to the exit node itself: DELETE …/clones/.. is DELETE the node): the fuzzing goes on against a new one.
                world = await World.CreateAsync(Gateway);
                fingerprint = await world.FingerprintAsync();
            }
        }

        Dictionary<string, string> ValidPath() => call.PathParameters.ToDictionary(p => p, world.PathValue);
        var validQuery = new Dictionary<string, string>();
        var baseBody = world.BodyFor(operationId);

        foreach (var name in call.PathParameters)
        {
            foreach (var value in HostilePathValues.Concat(name == "path" ? ["memoryIndex/" + new string('p', 600), "..%2F..%2Fetc%2Fpasswd", "memoryIndex/%2E%2E/x", "memoryIndex//x"] : []))
            {
                await Try($"path {name}={Clip(value)}", new(ValidPath()) { [name] = value }, validQuery, baseBody?.ToJsonString());
            }
        }

        foreach (var name in call.QueryParameters)
        {
            foreach (var value in HostileQueryValues)
            {
                await Try($"query {name}={Clip(value)}", ValidPath(), new() { [name] = value }, baseBody?.ToJsonString());
            }
        }

        if (call.HasBody)
        {
            foreach (var position in Positions(baseBody ?? [], call.BodySchema))
            {
                foreach (var value in HostileJsonValues)
                {
                    await Try($"body {position.Name}={Clip(value)}", ValidPath(), validQuery, position.With(value));
                }
            }

            foreach (var body in HostileBodies)
            {
                await Try($"body {Clip(body)}", ValidPath(), validQuery, body);
            }
        }

        foreach (var header in HostileHeaders)
        {
            await Try($"header {header.Name}: {Clip(header.Value)}", ValidPath(), validQuery, baseBody?.ToJsonString(), header);
        }

        output.WriteLine($"{operationId}: {requests} hostile requests, {findings.Count} findings");
        Assert.True(findings.Count == 0, $"{operationId}:\n" + string.Join("\n", findings.Take(40)));
    }

    /// <summary>Each member of the base body (nested objects and first array items included) and each declared top-level member.</summary>
    private static IEnumerable<(string Name, Func<string, string> With)> Positions(JsonObject body, JsonObject? schema)
    {
        var names = body.Select(m => m.Key).ToList();
        if (schema?["properties"] is JsonObject declared)
        {
            names.AddRange(declared.Select(p => p.Key).Where(n => !names.Contains(n)));
        }

        foreach (var name in names)
        {
            yield return (name, value => Substitute(body, o => o[name] = Placeholder, value));
            switch (body[name])
            {
                case JsonObject inner:
                    foreach (var member in inner.Select(m => m.Key).ToList())
                    {
                        yield return ($"{name}.{member}", value => Substitute(body, o => o[name]![member] = Placeholder, value));
                    }

                    break;
                case JsonArray { Count: > 0 } array when array[0] is JsonObject first:
                    foreach (var member in first.Select(m => m.Key).ToList())
                    {
                        yield return ($"{name}[0].{member}", value => Substitute(body, o => o[name]![0]![member] = Placeholder, value));
                    }

                    break;
            }
        }
    }

    private static string Substitute(JsonObject body, Action<JsonObject> place, string value)
    {
        var copy = body.DeepClone().AsObject();
        place(copy);
        return copy.ToJsonString().Replace($"\"{Placeholder}\"", value, StringComparison.Ordinal);
    }

    private static string Clip(string text) => text.Length <= 60 ? text : $"{text[..60]}…({text.Length})";

    /// <summary>A tenant with an exit node, a document and a registered clone: what the hostile requests aim at.</summary>
    private sealed class World
    {
        private World(GatewayFixture gateway, string tenantId, string apiKey, string keyId, string did, GatewayTestKit.RegisteredClone clone)
        {
            Gateway = gateway;
            TenantId = tenantId;
            ApiKey = apiKey;
            KeyId = keyId;
            Did = did;
            Clone = clone;
        }

        public GatewayFixture Gateway { get; }

        public string TenantId { get; }

        public string ApiKey { get; }

        public string KeyId { get; }

        public string Did { get; }

        public GatewayTestKit.RegisteredClone Clone { get; }

        public static async Task<World> CreateAsync(GatewayFixture gateway)
        {
            var (tenantId, apiKey) = await gateway.CreateTenantAsync("fuzz", new JsonObject { ["requestsPerSecond"] = 1_000_000, ["updatesPerSecond"] = 1_000_000 });
            using var tenant = gateway.CreateClient(apiKey);
            using var key = await tenant.PostAsync("/v1/tenants/self/api-keys", null);
            var keyId = JsonNode.Parse(await key.Content.ReadAsStringAsync())!["keyId"]!.GetValue<string>();
            var did = await gateway.CreateExitNodeAsync(apiKey, new JsonObject { ["defaultPermissions"] = new JsonArray("read", "write") });
            await GatewayTestKit.WriteAsync(gateway, apiKey, did, ("memoryIndex/fuzz", "{\"v\":1}"));
            var clone = await GatewayTestKit.RegisterAsync(gateway, did);
            return new World(gateway, tenantId, apiKey, keyId, did, clone);
        }

        public string PathValue(string name) => name switch
        {
            "did" => Uri.EscapeDataString(Did),
            "cloneId" => Uri.EscapeDataString(Clone.CloneId),
            "tenantId" => TenantId,
            "keyId" => KeyId,
            "path" => "memoryIndex/fuzz",
            _ => throw new InvalidOperationException($"No value for the path parameter {name}."),
        };

        /// <summary>A valid body of the operation (the fuzzer breaks one member at a time), or null for none.</summary>
        public JsonObject? BodyFor(string operationId) => operationId switch
        {
            "createTenant" => new() { ["name"] = "fuzz", ["quotas"] = new JsonObject { ["maxExitNodes"] = 5, ["updatesPerSecond"] = 100 } },
            "createExitNode" => new() { ["capabilities"] = new JsonArray("storage"), ["defaultPermissions"] = new JsonArray("read") },
            "updateAdvertisement" => new() { ["capabilities"] = new JsonArray("storage") },
            "writeUpdates" => new()
            {
                ["updates"] = new JsonArray(new JsonObject
                {
                    ["type"] = "memory",
                    ["operation"] = "update",
                    ["path"] = "memoryIndex/fuzz",
                    ["data"] = new JsonObject { ["v"] = 2 },
                    ["updateId"] = "u-fuzz",
                    ["baseSeq"] = 1,
                }),
            },
            "suspendClone" or "reinstateClone" => new() { ["reason"] = "fuzz" },
            "createChallenge" => new() { ["did"] = Clone.Key.Did.Value, ["nonce"] = ExitNodeTestKit.NewNonce() },
            "registerClone" => ProtocolModel.ToJsonObject(ExitNodeTestKit.Request(Vivim.Protocol.Identity.SigningKey.Generate(), ExitNodeTestKit.NewNonce())),
            "submitUpdates" => new() { ["updates"] = new JsonArray(SignedUpdates.CreateJson(Clone.Key, "memoryIndex/from-clone", new JsonObject { ["v"] = 3 }, cloneId: Clone.CloneId)) },
            "acknowledge" => new() { ["seq"] = 0 },
            _ => null,
        };

        /// <summary>The fingerprint, or null once the exit node (or its whole tenant) is gone.</summary>
        public async Task<string?> FingerprintOrNullAsync()
        {
            using var tenant = Gateway.CreateClient(ApiKey);
            using var node = await tenant.GetAsync($"/v1/exit-nodes/{Uri.EscapeDataString(Did)}");
            return node.StatusCode is System.Net.HttpStatusCode.NotFound or System.Net.HttpStatusCode.Unauthorized ? null : await FingerprintAsync();
        }

        /// <summary>What a refused request must leave as it was: the node's head and root, its clones, the tenant's nodes and keys.</summary>
        public async Task<string> FingerprintAsync()
        {
            using var tenant = Gateway.CreateClient(ApiKey);
            var node = JsonNode.Parse(await tenant.GetStringAsync($"/v1/exit-nodes/{Uri.EscapeDataString(Did)}"))!;
            var clones = JsonNode.Parse(await tenant.GetStringAsync($"/v1/exit-nodes/{Uri.EscapeDataString(Did)}/clones"))!["items"]!.AsArray()
                .Select(c => $"{c!["cloneId"]}:{c["trustLevel"]}:{c["permissions"]!.ToJsonString()}:{c["cursor"]}");
            var nodes = JsonNode.Parse(await tenant.GetStringAsync("/v1/exit-nodes"))!["items"]!.AsArray().Count;
            return $"head {node["headSeq"]} root {node["root"]} bytes {node["stateBytes"]} clones [{string.Join(',', clones)}] nodes {nodes} ad {node["advertisement"]!["signature"]}";
        }
    }

    private sealed record Answer(int Status, string Body, IReadOnlyList<string> Problems);

    /// <summary>One operation, sent with the credentials it declares; each answer checked against the document.</summary>
    private sealed class Call(string method, string template, JsonObject operation, Func<World> current)
    {
        private static readonly HttpClient Http = new(new SocketsHttpHandler()) { Timeout = TimeSpan.FromSeconds(60) };

        public IReadOnlyList<string> PathParameters { get; } = [.. template.Split('/').Where(s => s.StartsWith('{')).Select(s => s.Trim('{', '}', '*'))];

        public IReadOnlyList<string> QueryParameters { get; } = [.. Parameters(operation).Where(p => p["in"]?.GetValue<string>() == "query").Select(p => p["name"]!.GetValue<string>())];

        public bool HasBody => operation["requestBody"] is not null;

        public JsonObject? BodySchema => operation["requestBody"]?["content"]?["application/json"]?["schema"] is { } schema
            ? OpenApiContract.Served.Resolve(schema) as JsonObject
            : null;

        public async Task<Answer> SendAsync(Dictionary<string, string> path, Dictionary<string, string> query, string? body, (string Name, string Value)? header)
        {
            var world = current();
            var target = template;
            foreach (var (name, value) in path)
            {
                target = target.Replace("{**" + name + "}", value, StringComparison.Ordinal).Replace("{" + name + "}", value, StringComparison.Ordinal);
            }

            if (query.Count > 0)
            {
                target += "?" + string.Join('&', query.Select(q => $"{q.Key}={q.Value}"));
            }

            var security = operation["security"] is JsonArray { Count: > 0 } schemes ? schemes[0]!.AsObject().First().Key : "none";

            // Sent as written: a canonicalized URI would undo the hostile encodings (and break a clone's signature).
            var uri = new Uri(world.Gateway.BaseAddress + target.TrimStart('/'), new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
            using var request = new HttpRequestMessage(new HttpMethod(method), uri);
            var bytes = body is null ? null : Encoding.UTF8.GetBytes(body);
            if (bytes is not null)
            {
                request.Content = new ByteArrayContent(bytes);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            }

            if (security == "cloneSignature")
            {
                var headers = HttpMessageSignature.Sign(world.Clone.Key, method, target, bytes ?? [], bytes is not null, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), null);
                if (bytes is not null)
                {
                    request.Headers.TryAddWithoutValidation(HttpMessageSignature.ContentDigestHeader, headers.ContentDigest);
                }

                request.Headers.TryAddWithoutValidation(HttpMessageSignature.SignatureInputHeader, headers.SignatureInput);
                request.Headers.TryAddWithoutValidation(HttpMessageSignature.SignatureHeader, headers.Signature);
            }

            var bearer = security switch { "operatorKey" => world.Gateway.OperatorKey, "tenantKey" => world.ApiKey, _ => null };
            if (bearer is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
            }

            if (header is var (headerName, headerValue))
            {
                // Replaces what the credentials put there: the hostile value stands alone.
                if (headerName == "Content-Type")
                {
                    request.Content?.Headers.Remove(headerName);
                    request.Content?.Headers.TryAddWithoutValidation(headerName, headerValue);
                }
                else
                {
                    request.Headers.Remove(headerName);
                    request.Headers.TryAddWithoutValidation(headerName, headerValue);
                }
            }

            using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            if (response.IsSuccessStatusCode && response.Content.Headers.ContentType?.MediaType == "text/event-stream")
            {
                // An event stream that opened never ends by itself: its status and media type are the answer.
                var declared = OpenApiContract.Served.Find(method, new Uri(uri.OriginalString).AbsolutePath) is { } found
                    && found.Operation["responses"]?[((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture)]?["content"]?["text/event-stream"] is not null;
                return new Answer((int)response.StatusCode, string.Empty, declared ? [] : [$"{(int)response.StatusCode} text/event-stream is not declared"]);
            }

            var answer = await response.Content.ReadAsByteArrayAsync();
            var text = Encoding.UTF8.GetString(answer);
            var status = (int)response.StatusCode;
            var problems = new List<string>();
            if (status is >= 400 and < 500 && !IsRegistrationDenial(text))
            {
                if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
                {
                    problems.Add($"{status} without a problem body ({response.Content.Headers.ContentType}): {Clip(text)}");
                }
                else if (JsonNode.Parse(text)?["code"]?.GetValue<string>() is not { Length: > 0 })
                {
                    problems.Add($"{status} problem without a code: {Clip(text)}");
                }
            }

            // The server removes dot segments (%2E%2E included) before routing, as a client's URI library would: the
            // answer is that route's, and the document is held to it.
            var routed = new Uri(uri.OriginalString).AbsolutePath;
            if (OpenApiContract.Served.Find(method, routed) is not null)
            {
                problems.AddRange(OpenApiContract.Served.Check(method, routed, status, response.Headers, response.Content.Headers, answer));
            }

            return new Answer(status, text, problems);
        }

        // Registration keeps the SDK's answer for its denials (docs/api.md), a 403 or 429 with denialReason.
        private bool IsRegistrationDenial(string text) =>
            operation["operationId"]!.GetValue<string>() == "registerClone" && text.Contains("\"denialReason\"", StringComparison.Ordinal);

        private static IEnumerable<JsonObject> Parameters(JsonObject operation) =>
            (operation["parameters"] as JsonArray ?? []).Select(p => (JsonObject)OpenApiContract.Served.Resolve(p!));
    }
}
