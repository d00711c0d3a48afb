using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Vivim.Gateway.Api.OpenApi;
using Vivim.Tests.Support;
using static Vivim.Tests.Gateway.GatewayTestKit;

namespace Vivim.Tests.Gateway;

/// <summary>
/// The OpenAPI document is the API's contract: it names every mapped endpoint and nothing else, an independent
/// validator accepts it, a client generated from it works (document paths with slashes included), and the check
/// every gateway test's responses pass through does refuse what the document does not declare.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class OpenApiContractTests(GatewayFixture gateway)
{
    private static readonly TimeSpan NodePatience = TimeSpan.FromMinutes(3);

    [Fact]
    public void Every_mapped_endpoint_is_an_operation_with_an_id_and_response_schemas_and_every_operation_is_mapped()
    {
        var contract = OpenApiContract.Served;
        var mapped = gateway.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IExcludeFromDescriptionMetadata>() is not { ExcludeFromDescription: true })
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["(any method)"])
                .Select(m => (Method: m.ToLowerInvariant(), Path: Template(e.RoutePattern), Name: e.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName)))
            .ToList();
        var documented = contract.Operations.ToList();

        var problems = new List<string>();
        foreach (var (method, path, name) in mapped)
        {
            var operation = documented.FirstOrDefault(o => o.Method == method && o.Path == path).Operation;
            if (operation is null)
            {
                problems.Add($"{method} {path} is mapped but not in the document.");
            }
            else if (name is null || operation["operationId"]?.GetValue<string>() != name)
            {
                problems.Add($"{method} {path}: the endpoint's name ({name ?? "none; add .WithName"}) is not the document's operationId ({operation["operationId"]}).");
            }
        }

        foreach (var (method, path, operation) in documented)
        {
            var where = $"{method} {path}";
            if (!mapped.Any(m => m.Method == method && m.Path == path))
            {
                problems.Add($"{where} is in the document but no endpoint serves it.");
            }

            if (operation["operationId"]?.GetValue<string>() is not { Length: > 0 })
            {
                problems.Add($"{where} has no operationId.");
            }

            if (operation["security"] is not JsonArray)
            {
                problems.Add($"{where} declares no security ([] when public).");
            }

            var responses = operation["responses"]?.AsObject() ?? [];
            if (!responses.Any(r => r.Key is "101" or "204" || r.Key.StartsWith('2')))
            {
                problems.Add($"{where} declares no success response.");
            }

            foreach (var (status, declared) in responses)
            {
                var response = contract.Resolve(declared!);
                var content = response["content"] as JsonObject;
                if ((status is "200" or "201" || status.StartsWith('4') || (status.StartsWith('5') && !path.StartsWith("/health/", StringComparison.Ordinal))) && content is not { Count: > 0 })
                {
                    problems.Add($"{where} {status} declares no body.");
                }

                foreach (var (media, body) in content ?? [])
                {
                    if (body?["schema"] is null)
                    {
                        problems.Add($"{where} {status} {media} has no schema.");
                    }

                    if (status.StartsWith('4') && media == "application/problem+json" && contract.Resolve(body!["schema"]!) != contract.Document["components"]!["schemas"]!["Problem"])
                    {
                        problems.Add($"{where} {status}: a problem body's schema is not components.schemas.Problem.");
                    }
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.Equal(documented.Count, documented.Select(o => o.Operation["operationId"]!.GetValue<string>()).Distinct().Count());
    }

    [Fact]
    public async Task The_served_document_is_the_contract_and_an_independent_validator_accepts_it()
    {
        var file = await FetchDocumentAsync();
        try
        {
            Assert.Equal(OpenApiDocument.Json.ToArray(), await File.ReadAllBytesAsync(file));
            var run = await NodeScript.RunAsync(Repository.PathOf("interop", "openapi"), "validate.mjs", [file], NodePatience);
            Assert.True(run.ExitCode == 0, run.StdOut + run.StdErr);
            var verdict = JsonNode.Parse(run.StdOut)!;
            Assert.True(verdict["valid"]!.GetValue<bool>());
            Assert.Equal("3.1", verdict["version"]!.GetValue<string>());
            Assert.Equal(OpenApiContract.Served.Operations.Count(), verdict["operations"]!.GetValue<int>());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task The_independent_validator_refuses_a_broken_document()
    {
        var broken = OpenApiContract.Served.Document.DeepClone().AsObject();
        broken["paths"]!["/v1/tenants"]!["post"]!.AsObject().Remove("operationId");
        broken["paths"]!["/health/live"]!["get"]!["responses"]!["200"]!["descripton"] = "typo";
        var file = Path.Combine(Path.GetTempPath(), $"vivim-openapi-broken-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, broken.ToJsonString());
        try
        {
            var run = await NodeScript.RunAsync(Repository.PathOf("interop", "openapi"), "validate.mjs", [file], NodePatience);
            Assert.Equal(1, run.ExitCode);
            Assert.Contains("descripton", run.StdOut, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_client_generated_from_the_document_writes_and_reads_back_a_document_whose_path_has_slashes()
    {
        var file = await FetchDocumentAsync();
        try
        {
            var run = await NodeScript.RunAsync(
                Repository.PathOf("interop", "openapi"), "client-check.mjs", [file, gateway.BaseAddress.ToString().TrimEnd('/'), gateway.OperatorKey], NodePatience);
            Assert.True(run.ExitCode == 0, run.StdOut + run.StdErr);
            var walk = JsonNode.Parse(run.StdOut.Trim().Split('\n')[^1])!;
            Assert.Equal("memoryIndex/notes/first", walk["path"]!.GetValue<string>());
            Assert.Equal("hello from a generated client", walk["document"]!["text"]!.GetValue<string>());
            Assert.Equal(walk["seq"]!.GetValue<long>(), walk["documentSeq"]!.GetValue<long>());

            // The generated client percent-encodes the path parameter's slashes; the gateway decodes them.
            Assert.Contains("/documents/memoryIndex%2Fnotes%2Ffirst", walk["requestUrl"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Equal(404, walk["missingStatus"]!.GetValue<int>());
            Assert.Equal("not-found", walk["missingCode"]!.GetValue<string>());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_document_path_is_the_same_with_literal_or_percent_encoded_slashes_and_keeps_its_limit()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        var seq = await WriteAsync(gateway, apiKey, did, ("memoryIndex/a/b", """{"n":1}"""));
        using var http = gateway.CreateClient(apiKey);

        foreach (var path in new[] { "memoryIndex/a/b", "memoryIndex%2Fa%2Fb", "memoryIndex%2fa/b" })
        {
            var document = JsonNode.Parse(await http.GetStringAsync($"/v1/exit-nodes/{did}/documents/{path}"))!;
            Assert.Equal(("memoryIndex/a/b", seq, 1), (document["path"]!.GetValue<string>(), document["seq"]!.GetValue<long>(), document["document"]!["n"]!.GetValue<int>()));
        }

        // Decoded once: an escaped percent sign is a percent sign, not a slash.
        using (var response = await http.GetAsync($"/v1/exit-nodes/{did}/documents/memoryIndex%252Fa%252Fb"))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Contains("memoryIndex%2Fa%2Fb", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // The limit counts the decoded path: 3 escaped bytes each are still one byte.
        var atLimit = "memoryIndex%2F" + new string('k', 512 - "memoryIndex/".Length);
        using (var response = await http.GetAsync($"/v1/exit-nodes/{did}/documents/{atLimit}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        using (var response = await http.GetAsync($"/v1/exit-nodes/{did}/documents/{atLimit}k"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("invalid-path", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["code"]!.GetValue<string>());
        }
    }

    [Fact]
    public void The_response_check_refuses_undeclared_statuses_missing_headers_and_bodies_off_schema()
    {
        var contract = OpenApiContract.Served;
        const string node = "/v1/exit-nodes/did:key:z6Mk";

        Assert.Contains(Check(contract, "GET", node, 418, null, null), p => p.Contains("418", StringComparison.Ordinal) && p.Contains("getExitNode", StringComparison.Ordinal));
        Assert.Contains(Check(contract, "GET", node, 200, "application/json", """{"did":"x"}"""), p => p.Contains("advertisement", StringComparison.Ordinal));
        Assert.Contains(Check(contract, "GET", node, 404, "application/json", Problem(404)), p => p.Contains("media type", StringComparison.Ordinal));
        Assert.Contains(Check(contract, "GET", "/v1/exit-nodes", 429, "application/problem+json", Problem(429)), p => p.Contains("Retry-After", StringComparison.Ordinal));
        Assert.Contains(Check(contract, "DELETE", node, 204, "application/json", "{}"), p => p.Contains("no body", StringComparison.Ordinal));
        Assert.Contains(Check(contract, "GET", "/v2/anything", 200, "application/json", "{}"), p => p.Contains("not in the document", StringComparison.Ordinal));

        Assert.Empty(Check(contract, "GET", "/v2/anything", 404, "application/problem+json", Problem(404)));
        Assert.Empty(Check(contract, "GET", node + "/documents/memoryIndex/a/b", 404, "application/problem+json", Problem(404)));
        Assert.Empty(Check(contract, "GET", node + "/documents/memoryIndex%2Fa", 200, "application/json", """{"path":"memoryIndex/a","document":null,"seq":1,"root":"r","merkleProof":"p"}"""));
        Assert.Empty(Check(contract, "GET", "/v1/exit-nodes", 429, "application/problem+json", Problem(429), retryAfter: true));
    }

    private static IReadOnlyList<string> Check(OpenApiContract contract, string method, string path, int status, string? mediaType, string? body, bool retryAfter = false)
    {
        using var response = new HttpResponseMessage((HttpStatusCode)status) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body ?? string.Empty)) };
        if (mediaType is not null)
        {
            response.Content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        }

        if (retryAfter)
        {
            response.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(1));
        }

        return contract.Check(method, path, status, response.Headers, response.Content.Headers, Encoding.UTF8.GetBytes(body ?? string.Empty));
    }

    private static string Problem(int status) =>
        new JsonObject { ["type"] = "https://vivim.cloud/problems/x", ["title"] = "t", ["status"] = status, ["code"] = "x", ["detail"] = "d" }.ToJsonString();

    private async Task<string> FetchDocumentAsync()
    {
        using var http = gateway.CreateClient();
        var file = Path.Combine(Path.GetTempPath(), $"vivim-openapi-{Guid.NewGuid():N}.json");
        await File.WriteAllBytesAsync(file, await http.GetByteArrayAsync(OpenApiDocument.Route));
        return file;
    }

    private static string Template(RoutePattern pattern) =>
        "/" + string.Join('/', pattern.PathSegments.Select(s => string.Concat(s.Parts.Select(p => p switch
        {
            RoutePatternLiteralPart literal => literal.Content,
            RoutePatternParameterPart parameter => "{" + parameter.Name + "}",
            _ => p.ToString(),
        }))));
}
