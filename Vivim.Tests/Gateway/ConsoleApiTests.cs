using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Vivim.Gateway.Api;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Signatures;
using Vivim.Tests.Grains;
using Vivim.Tests.Support;
using static Vivim.Tests.Gateway.GatewayTestKit;

namespace Vivim.Tests.Gateway;

/// <summary>
/// What the console needs of the API, through the real HTTP API: changing a clone's permissions (signed, at once),
/// an exit node's live event stream with its resume cursor, and the tenant's own quotas and usage.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class ConsoleApiTests(GatewayFixture gateway)
{
    private static readonly TimeSpan EventPatience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Changing_a_clones_permissions_is_signed_and_judges_its_very_next_write()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey, new JsonObject { ["defaultPermissions"] = new JsonArray("read", "write") });
        var clone = await RegisterAsync(gateway, did);
        Assert.Equal(HttpStatusCode.OK, (await SubmitAsync(clone, "memoryIndex/a")).Status);

        using var owner = gateway.CreateClient(apiKey);
        var proof = await PutPermissionsAsync(owner, did, clone.CloneId, new JsonArray("read"));
        Assert.Equal(HttpStatusCode.OK, proof.Status);
        Assert.Equal(["read"], proof.Body!["payload"]!["permissions"]!.AsArray().Select(p => p!.GetValue<string>()));
        Assert.Equal("secondary", proof.Body["payload"]!["trustLevel"]!.GetValue<string>());
        var nodeKey = DidKey.ResolvePublicKey(did);
        Assert.True(SignatureV1.Verify(SignedKind.TrustProof, ProtocolJson.ParseObject(proof.Body.ToJsonString()), nodeKey));
        Assert.True(SignatureV2.Verify(SignedKind.TrustProof, ProtocolJson.ParseObject(proof.Body.ToJsonString()), nodeKey));

        var refused = await SubmitAsync(clone, "memoryIndex/b");
        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        Assert.Equal("write-forbidden", refused.Body!["code"]!.GetValue<string>());
        var listed = await GetAsync(owner, $"/v1/exit-nodes/{did}/clones");
        Assert.Equal(["read"], listed!["items"]![0]!["permissions"]!.AsArray().Select(p => p!.GetValue<string>()));

        Assert.Equal(HttpStatusCode.OK, (await PutPermissionsAsync(owner, did, clone.CloneId, new JsonArray("read", "write"))).Status);
        Assert.Equal(HttpStatusCode.OK, (await SubmitAsync(clone, "memoryIndex/b")).Status);

        // Only the two sets, strictly; an unknown clone and another tenant's node are 404.
        foreach (var bad in new JsonNode?[] { new JsonArray("write"), new JsonArray("admin"), new JsonArray(), new JsonArray("read", "read"), new JsonArray("write", "read"), JsonValue.Create("read"), null })
        {
            var answer = await PutPermissionsAsync(owner, did, clone.CloneId, bad);
            Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
            Assert.Equal("invalid-request", answer.Body!["code"]!.GetValue<string>());
        }

        Assert.Equal(HttpStatusCode.NotFound, (await PutPermissionsAsync(owner, did, "no-such-clone", new JsonArray("read"))).Status);
        var (_, otherKey) = await gateway.CreateTenantAsync();
        using var other = gateway.CreateClient(otherKey);
        Assert.Equal(HttpStatusCode.NotFound, (await PutPermissionsAsync(other, did, clone.CloneId, new JsonArray("read"))).Status);
        Assert.Equal(HttpStatusCode.OK, (await SubmitAsync(clone, "memoryIndex/c")).Status);
    }

    [Fact]
    public async Task A_suspended_clone_keeps_permissions_changed_meanwhile_for_its_reinstatement()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        var clone = await RegisterAsync(gateway, did);
        using var owner = gateway.CreateClient(apiKey);
        using (var suspend = await owner.PostAsync($"/v1/exit-nodes/{did}/clones/{clone.CloneId}/suspend", GatewayFixture.Json(new JsonObject())))
        {
            Assert.Equal(HttpStatusCode.OK, suspend.StatusCode);
        }

        var proof = await PutPermissionsAsync(owner, did, clone.CloneId, new JsonArray("read", "write"));
        Assert.Equal("suspended", proof.Body!["payload"]!["trustLevel"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Forbidden, (await SubmitAsync(clone, "memoryIndex/x")).Status);

        using (var reinstate = await owner.PostAsync($"/v1/exit-nodes/{did}/clones/{clone.CloneId}/reinstate", GatewayFixture.Json(new JsonObject())))
        {
            Assert.Equal(HttpStatusCode.OK, reinstate.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await SubmitAsync(clone, "memoryIndex/x")).Status);
    }

    [Fact]
    public async Task A_document_comes_with_the_signed_commit_of_the_root_its_proof_is_against()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        await WriteAsync(gateway, apiKey, did, ("memoryIndex/a", """{"text":"a"}"""));
        var head = await WriteAsync(gateway, apiKey, did, ("memoryIndex/b", "2"), ("memoryIndex/c", "3"));
        using var owner = gateway.CreateClient(apiKey);
        Assert.Null((await GetAsync(owner, $"/v1/exit-nodes/{did}/documents/memoryIndex/a"))!["commit"]); // opt-in: strict readers know five members
        var read = (await GetAsync(owner, $"/v1/exit-nodes/{did}/documents/memoryIndex/a?withCommit=true"))!;
        Assert.Equal(1, read["seq"]!.GetValue<long>());
        var commit = read["commit"]!.AsObject();
        Assert.Equal(head, commit["toSeq"]!.GetValue<long>());
        Assert.Equal(read["root"]!.GetValue<string>(), commit["root"]!.GetValue<string>());
        Assert.True(SignatureV2.Verify(SignedKind.Commit, ProtocolJson.ParseObject(commit.ToJsonString()), DidKey.ResolvePublicKey(did)));
    }

    [Fact]
    public async Task The_owner_lists_document_paths_and_pages_commits_back_through_the_log()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        await WriteAsync(gateway, apiKey, did, ("memoryIndex/b", "1"), ("memoryIndex/a/deep", "2"));
        await WriteAsync(gateway, apiKey, did, ("memoryIndex/c", "3"));
        var head = await WriteAsync(gateway, apiKey, did, ("memoryIndex/d", "4"), ("memoryIndex/e", "5"));
        using var owner = gateway.CreateClient(apiKey);

        var first = (await GetAsync(owner, $"/v1/exit-nodes/{did}/document-paths?limit=2"))!;
        Assert.Equal(["memoryIndex/a/deep", "memoryIndex/b"], first["items"]!.AsArray().Select(i => i!["path"]!.GetValue<string>()));
        var rest = (await GetAsync(owner, $"/v1/exit-nodes/{did}/document-paths?limit=10&cursor={Uri.EscapeDataString(first["nextCursor"]!.GetValue<string>())}"))!;
        Assert.Equal(["memoryIndex/c", "memoryIndex/d", "memoryIndex/e"], rest["items"]!.AsArray().Select(i => i!["path"]!.GetValue<string>()));
        Assert.Null(rest["nextCursor"]);

        // Paging back from the last commit (4..5): the ones before it, each whole and signed.
        var back = (await GetAsync(owner, $"/v1/exit-nodes/{did}/commits?after=0&limit=3"))!;
        Assert.Equal(head, back["headSeq"]!.GetValue<long>());
        var commits = back["items"]!.AsArray().Select(c => c!.AsObject()).ToList();
        Assert.Equal([(1L, 2L), (3L, 3L)], commits.Select(c => (c["fromSeq"]!.GetValue<long>(), c["toSeq"]!.GetValue<long>())));
        Assert.All(commits, c => Assert.True(SignatureV2.Verify(SignedKind.Commit, ProtocolJson.ParseObject(c["commit"]!.ToJsonString()), DidKey.ResolvePublicKey(did))));
        Assert.Equal(2, commits[0]["updateCount"]!.GetValue<long>());
        Assert.Equal([did], commits[0]["authors"]!.AsArray().Select(a => a!.GetValue<string>()));
        using var bad = await owner.GetAsync($"/v1/exit-nodes/{did}/commits?after=-1");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task The_console_is_served_from_the_gateway_with_a_strict_policy_and_no_inline_script()
    {
        using var http = new HttpClient { BaseAddress = gateway.BaseAddress };
        foreach (var (path, type) in new[] { ("/console", "text/html"), ("/console/", "text/html"), ("/console/app.js", "text/javascript"), ("/console/console.css", "text/css") })
        {
            using var response = await http.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(type, response.Content.Headers.ContentType?.MediaType);
            var policy = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("script-src 'self'", policy, StringComparison.Ordinal);
            Assert.Contains("default-src 'none'", policy, StringComparison.Ordinal);
            Assert.DoesNotContain("unsafe", policy, StringComparison.Ordinal);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        }

        var html = await http.GetStringAsync("/console");
        Assert.DoesNotMatch(@"<script(?![^>]*\bsrc=)", html);
        Assert.DoesNotMatch(@"<[^>]*\son[a-z]+\s*=", html); // no inline event handlers either
        Assert.Contains("verify.js", Vivim.Gateway.TenantConsole.ConsoleEndpoints.FileNames);
        using var missing = await http.GetAsync("/console/nothing.js");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task The_tenant_reads_its_quotas_and_usage()
    {
        var (tenantId, apiKey) = await gateway.CreateTenantAsync("self", new JsonObject { ["maxExitNodes"] = 3, ["maxStateBytesPerExitNode"] = 1_000_000 });
        using var owner = gateway.CreateClient(apiKey);
        var empty = (await GetAsync(owner, "/v1/tenants/self"))!;
        Assert.Equal(tenantId, empty["tenantId"]!.GetValue<string>());
        Assert.Equal("self", empty["name"]!.GetValue<string>());
        Assert.Equal(3, empty["quotas"]!["maxExitNodes"]!.GetValue<int>());
        Assert.Equal(1_000_000, empty["quotas"]!["maxStateBytesPerExitNode"]!.GetValue<long>());
        Assert.NotNull(empty["quotas"]!["updatesPerSecond"]); // the service's default, filled in
        Assert.Equal(0, empty["usage"]!["exitNodes"]!.GetValue<int>());
        Assert.Single(empty["apiKeyIds"]!.AsArray());

        var first = await gateway.CreateExitNodeAsync(apiKey);
        var second = await gateway.CreateExitNodeAsync(apiKey);
        await WriteAsync(gateway, apiKey, first, ("memoryIndex/a", """{"text":"twelve bytes"}"""));
        await WriteAsync(gateway, apiKey, second, ("memoryIndex/a", """{"text":"a longer document than the other one"}"""));
        await RegisterAsync(gateway, first);
        await RegisterAsync(gateway, first);
        await RegisterAsync(gateway, second);

        var used = (await GetAsync(owner, "/v1/tenants/self"))!["usage"]!;
        var nodes = (await GetAsync(owner, "/v1/exit-nodes"))!["items"]!.AsArray();
        Assert.Equal(2, used["exitNodes"]!.GetValue<int>());
        Assert.Equal(3, used["clones"]!.GetValue<long>());
        Assert.Equal(nodes.Sum(n => n!["stateBytes"]!.GetValue<long>()), used["stateBytes"]!.GetValue<long>());
        Assert.Equal(nodes.Max(n => n!["stateBytes"]!.GetValue<long>()), used["largestExitNodeStateBytes"]!.GetValue<long>());
        Assert.True(used["largestExitNodeStateBytes"]!.GetValue<long>() < used["stateBytes"]!.GetValue<long>());

        using var anonymous = gateway.CreateClient();
        using var refused = await anonymous.GetAsync("/v1/tenants/self");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task The_event_stream_carries_commits_registrations_and_clone_changes_and_resumes_after_its_cursor()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        await WriteAsync(gateway, apiKey, did, ("memoryIndex/before", "1")); // before the stream: not sent

        string cursor;
        string cloneId;
        using (var stream = await EventStream.OpenAsync(gateway, apiKey, did))
        {
            var ready = await stream.NextAsync("ready");
            Assert.Equal(1, ready.Data["headSeq"]!.GetValue<long>());

            var seq = await WriteAsync(gateway, apiKey, did, ("memoryIndex/a", "1"), ("memoryIndex/b", "2"));
            var commit = await stream.NextAsync("commit");
            Assert.Equal(2, commit.Data["fromSeq"]!.GetValue<long>());
            Assert.Equal(seq, commit.Data["toSeq"]!.GetValue<long>());
            Assert.Equal(2, commit.Data["updateCount"]!.GetValue<long>());
            Assert.Equal([did], commit.Data["authors"]!.AsArray().Select(a => a!.GetValue<string>()));
            Assert.True(SignatureV2.Verify(SignedKind.Commit, ProtocolJson.ParseObject(commit.Data["commit"]!.ToJsonString()), DidKey.ResolvePublicKey(did)));
            Assert.Equal(commit.Data["root"]!.GetValue<string>(), commit.Data["commit"]!["root"]!.GetValue<string>());
            Assert.StartsWith($"{seq}.", commit.Id, StringComparison.Ordinal);

            // The SDK's challenge round trip: a denial with its reason, then the approval.
            var clone = await RegisterAsync(gateway, did);
            cloneId = clone.CloneId;
            var denied = await stream.NextAsync("registration");
            Assert.Equal("registration-denied", denied.Data["kind"]!.GetValue<string>());
            Assert.Equal("Challenge required", denied.Data["reason"]!.GetValue<string>());
            Assert.Equal(clone.Key.Did.Value, denied.Data["cloneDid"]!.GetValue<string>());
            var approved = await stream.NextAsync("registration");
            Assert.Equal("registration-approved", approved.Data["kind"]!.GetValue<string>());
            Assert.Equal(clone.CloneId, approved.Data["cloneId"]!.GetValue<string>());

            // Progress is the clones' state, sent when it changes: the change that lists the new clone may come before
            // the approval's event (the stream reads activity, then progress), so it may already have been passed over.
            var progress = await stream.SeenOrNextAsync("progress", e => e.Data["clones"]!.AsArray().Any(c => c!["cloneId"]!.GetValue<string>() == clone.CloneId));
            Assert.Equal(seq, progress.Data["headSeq"]!.GetValue<long>());

            using var owner = gateway.CreateClient(apiKey);
            using (var suspend = await owner.PostAsync($"/v1/exit-nodes/{did}/clones/{clone.CloneId}/suspend", GatewayFixture.Json(new JsonObject { ["reason"] = "looking" })))
            {
                Assert.Equal(HttpStatusCode.OK, suspend.StatusCode);
            }

            var suspended = await stream.NextAsync("clone");
            Assert.Equal("clone-suspended", suspended.Data["kind"]!.GetValue<string>());
            Assert.Equal("looking", suspended.Data["reason"]!.GetValue<string>());
            cursor = suspended.Id!;
        }

        // While nobody listens: a commit and a clone change. The resumed stream starts right after the cursor.
        var later = await WriteAsync(gateway, apiKey, did, ("memoryIndex/c", "3"));
        using (var owner = gateway.CreateClient(apiKey))
        using (var reinstate = await owner.PostAsync($"/v1/exit-nodes/{did}/clones/{cloneId}/reinstate", GatewayFixture.Json(new JsonObject())))
        {
            Assert.Equal(HttpStatusCode.OK, reinstate.StatusCode);
        }

        using (var resumed = await EventStream.OpenAsync(gateway, apiKey, did, cursor))
        {
            await resumed.NextAsync("ready");
            var commit = await resumed.NextAsync("commit");
            Assert.Equal(later, commit.Data["fromSeq"]!.GetValue<long>());
            var change = await resumed.NextAsync("clone");
            Assert.Equal("clone-reinstated", change.Data["kind"]!.GetValue<string>());
            Assert.DoesNotContain(resumed.Seen, e => e.Name is "registration" || (e.Name == "clone" && e.Data["kind"]!.GetValue<string>() == "clone-suspended"));
        }
    }

    [Fact]
    public async Task The_event_stream_is_the_owners_only_and_refuses_a_malformed_cursor()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        var (_, otherKey) = await gateway.CreateTenantAsync();

        Assert.Equal(HttpStatusCode.NotFound, await EventStream.StatusAsync(gateway, otherKey, did, null));
        Assert.Equal(HttpStatusCode.Unauthorized, await EventStream.StatusAsync(gateway, null, did, null));
        Assert.Equal(HttpStatusCode.NotFound, await EventStream.StatusAsync(gateway, apiKey, "did:key:z6MkNoSuchNode", null));
        Assert.Equal(HttpStatusCode.BadRequest, await EventStream.StatusAsync(gateway, apiKey, did, "12"));
        Assert.Equal(HttpStatusCode.BadRequest, await EventStream.StatusAsync(gateway, apiKey, did, "-1.3"));

        // Bounded: a tenant's streams at one gateway.
        var open = new List<EventStream>();
        try
        {
            for (var i = 0; i < ExitNodeEventStream.MaxStreamsPerTenant; i++)
            {
                var stream = await EventStream.OpenAsync(gateway, apiKey, did);
                open.Add(stream);
                await stream.NextAsync("ready");
            }

            Assert.Equal(HttpStatusCode.TooManyRequests, await EventStream.StatusAsync(gateway, apiKey, did, null));
        }
        finally
        {
            open.ForEach(s => s.Dispose());
        }

        await Until.TrueAsync(async () => await EventStream.StatusAsync(gateway, apiKey, did, null) == HttpStatusCode.OK, () => "closed streams were not released");
    }

    [Fact]
    public async Task Revoking_the_key_ends_the_event_stream_it_opened()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        using var owner = gateway.CreateClient(apiKey);
        using var created = await owner.PostAsync("/v1/tenants/self/api-keys", null);
        var second = JsonNode.Parse(await created.Content.ReadAsStringAsync())!;
        using var stream = await EventStream.OpenAsync(gateway, second["apiKey"]!.GetValue<string>(), did);
        await stream.NextAsync("ready");

        using (var revoke = await owner.DeleteAsync($"/v1/tenants/self/api-keys/{second["keyId"]!.GetValue<string>()}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        }

        var end = await stream.NextAsync("end");
        Assert.Equal("The API key was revoked.", end.Data["reason"]!.GetValue<string>());
    }

    private async Task<(HttpStatusCode Status, JsonObject? Body)> SubmitAsync(RegisteredClone clone, string path)
    {
        using var http = gateway.CreateClient();
        var update = ExitNodeTestKit.SignedUpdate(clone.Key, clone.CloneId, path, JsonValue.Create(1));
        var body = new JsonObject { ["updates"] = new JsonArray(JsonNode.Parse(update)) }.ToJsonString();
        return await SendAsync(http, gateway.Signed(clone.Key, HttpMethod.Post, $"/v1/clones/{clone.CloneId}/updates", body));
    }

    private static Task<(HttpStatusCode Status, JsonObject? Body)> PutPermissionsAsync(HttpClient owner, string did, string cloneId, JsonNode? permissions) =>
        SendAsync(owner, new HttpRequestMessage(HttpMethod.Put, $"/v1/exit-nodes/{did}/clones/{Uri.EscapeDataString(cloneId)}/permissions")
        {
            Content = GatewayFixture.Json(permissions is null ? new JsonObject() : new JsonObject { ["permissions"] = permissions.DeepClone() }),
        });

    private static async Task<JsonObject?> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonNode.Parse(text) as JsonObject;
    }

    /// <summary>
    /// One open event stream, read as a browser would. Not through the contract-checking client, which buffers whole
    /// bodies; the declared media type is checked here instead.
    /// </summary>
    private sealed class EventStream : IDisposable
    {
        private readonly HttpClient _http;
        private readonly HttpResponseMessage _response;
        private readonly StreamReader _reader;
        private readonly List<ServerEvent> _seen = [];

        private EventStream(HttpClient http, HttpResponseMessage response, StreamReader reader) => (_http, _response, _reader) = (http, response, reader);

        public IReadOnlyList<ServerEvent> Seen => _seen;

        public static async Task<EventStream> OpenAsync(GatewayFixture gateway, string apiKey, string did, string? lastEventId = null)
        {
            var http = new HttpClient { BaseAddress = gateway.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
            var response = await http.SendAsync(Request(apiKey, did, lastEventId), HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(ExitNodeEventStream.ContentType, response.Content.Headers.ContentType?.MediaType);
            Assert.NotNull(OpenApiContract.Served.Document["paths"]![$"/v1/exit-nodes/{{did}}/events"]!["get"]!["responses"]!["200"]!["content"]![ExitNodeEventStream.ContentType]);
            return new EventStream(http, response, new StreamReader(await response.Content.ReadAsStreamAsync(), Encoding.UTF8));
        }

        /// <summary>The status a request for the stream gets (its body is not read).</summary>
        public static async Task<HttpStatusCode> StatusAsync(GatewayFixture gateway, string? apiKey, string did, string? lastEventId)
        {
            using var http = new HttpClient { BaseAddress = gateway.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
            using var response = await http.SendAsync(Request(apiKey, did, lastEventId), HttpCompletionOption.ResponseHeadersRead);
            if (!response.IsSuccessStatusCode)
            {
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            }

            return response.StatusCode;
        }

        private static HttpRequestMessage Request(string? apiKey, string did, string? lastEventId)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/exit-nodes/{did}/events");
            if (apiKey is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
            }

            if (lastEventId is not null)
            {
                request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
            }

            return request;
        }

        /// <summary>The first event named <paramref name="name"/> that <paramref name="matches"/> among those already read, else the next.</summary>
        public async Task<ServerEvent> SeenOrNextAsync(string name, Func<ServerEvent, bool> matches) =>
            _seen.FirstOrDefault(e => e.Name == name && matches(e)) ?? await NextAsync(name, matches);

        /// <summary>The next event named <paramref name="name"/> (that <paramref name="matches"/>), skipping others.</summary>
        public async Task<ServerEvent> NextAsync(string name, Func<ServerEvent, bool>? matches = null)
        {
            using var patience = new CancellationTokenSource(EventPatience);
            while (true)
            {
                var next = await ReadAsync(patience.Token);
                _seen.Add(next);
                if (next.Name == name && (matches is null || matches(next)))
                {
                    return next;
                }
            }
        }

        private async Task<ServerEvent> ReadAsync(CancellationToken cancellationToken)
        {
            string? id = null, name = null, data = null;
            while (true)
            {
                var line = await _reader.ReadLineAsync(cancellationToken) ?? throw new InvalidOperationException("The event stream ended.");
                if (line.Length == 0)
                {
                    if (name is not null && data is not null)
                    {
                        return new ServerEvent(name, id, JsonNode.Parse(data)!.AsObject());
                    }

                    continue; // a comment or retry line
                }

                var colon = line.IndexOf(':', StringComparison.Ordinal);
                var (field, value) = colon < 0 ? (line, string.Empty) : (line[..colon], line[(colon + 1)..].TrimStart(' '));
                switch (field)
                {
                    case "id": id = value; break;
                    case "event": name = value; break;
                    case "data": data = data is null ? value : data + "\n" + value; break;
                }
            }
        }

        public void Dispose()
        {
            _reader.Dispose();
            _response.Dispose();
            _http.Dispose();
        }
    }

    private sealed record ServerEvent(string Name, string? Id, JsonObject Data);
}
