using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using Vivim.Gateway.Api.OpenApi;

namespace Vivim.Tests.Support;

/// <summary>
/// The gateway's OpenAPI document as a checker: which operation a request is, and whether a response is one that
/// operation declares (status, required headers, media type, and a body valid against the declared JSON Schema).
/// </summary>
public sealed class OpenApiContract
{
    private static readonly string[] Methods = ["get", "put", "post", "delete", "patch", "head", "options"];

    private readonly ConcurrentDictionary<string, JsonSchema> _schemas = new();
    private readonly JsonObject _definitions;
    private readonly List<(string Template, string[] Segments)> _paths;

    public OpenApiContract(JsonObject document)
    {
        Document = document;
        var text = (document["components"]?["schemas"] ?? new JsonObject()).ToJsonString();
        _definitions = JsonNode.Parse(RewriteRefs(text))!.AsObject();
        _paths = [.. document["paths"]!.AsObject().Select(p => (p.Key, p.Key.Split('/')))];
    }

    /// <summary>The document the gateway serves (embedded in its assembly).</summary>
    public static OpenApiContract Served { get; } = new(JsonNode.Parse(OpenApiDocument.Json.Span)!.AsObject());

    public JsonObject Document { get; }

    /// <summary>Every operation: its method (lowercase), path template and object.</summary>
    public IEnumerable<(string Method, string Path, JsonObject Operation)> Operations =>
        from path in Document["paths"]!.AsObject()
        from method in Methods
        where path.Value![method] is JsonObject
        select (method, path.Key, path.Value![method]!.AsObject());

    /// <summary>The operation a request goes to, by its method and escaped path; null when none is declared.</summary>
    public (string Path, JsonObject Operation)? Find(string method, string escapedPath)
    {
        var raw = escapedPath.Split('/');
        var best = ((string Path, JsonObject Operation)?)null;
        var bestLiterals = -1;
        foreach (var greedyLast in new[] { false, true })
        {
            foreach (var (template, segments) in _paths)
            {
                if (Document["paths"]![template]![method.ToLowerInvariant()] is not JsonObject operation
                    || Matches(segments, raw, greedyLast) is not { } literals
                    || literals <= bestLiterals)
                {
                    continue;
                }

                (best, bestLiterals) = ((template, operation), literals);
            }

            if (best is not null)
            {
                return best;
            }
        }

        return null;
    }

    /// <summary>What is wrong with this response to <paramref name="method"/> <paramref name="escapedPath"/>; empty when it is as declared.</summary>
    public IReadOnlyList<string> Check(string method, string escapedPath, int status, HttpResponseHeaders headers, HttpContentHeaders contentHeaders, byte[] body)
    {
        if (Find(method, escapedPath) is not var (template, operation))
        {
            // Unknown routes answer the gateway's fallback: a 404 problem.
            return status == 404
                ? CheckContent("fallback", Resolve(Document["components"]!["responses"]!["NotFound"]!).AsObject(), contentHeaders, body)
                : [$"{method} {escapedPath} is not in the document, and the answer was {status}, not the fallback's 404."];
        }

        var id = operation["operationId"]?.GetValue<string>() ?? $"{method} {template}";
        if (operation["responses"]?[status.ToString(System.Globalization.CultureInfo.InvariantCulture)] is not JsonNode declared)
        {
            return [$"{id} ({method} {escapedPath}) answered {status}, which the document does not declare for it."];
        }

        var response = Resolve(declared).AsObject();
        var problems = new List<string>();
        foreach (var (name, header) in response["headers"]?.AsObject() ?? [])
        {
            if (Resolve(header!)["required"]?.GetValue<bool>() == true && !headers.NonValidated.Contains(name) && !contentHeaders.NonValidated.Contains(name))
            {
                problems.Add($"{id} answered {status} without the required header {name}.");
            }
        }

        problems.AddRange(CheckContent($"{id} {status}", response, contentHeaders, body));
        return problems;
    }

    private List<string> CheckContent(string what, JsonObject response, HttpContentHeaders contentHeaders, byte[] body)
    {
        if (response["content"] is not JsonObject content || content.Count == 0)
        {
            return body.Length == 0 ? [] : [$"{what}: the document declares no body, but {body.Length} bytes came."];
        }

        var mediaType = contentHeaders.ContentType?.MediaType?.ToLowerInvariant();
        if (mediaType is null || content[mediaType] is not JsonObject media)
        {
            return [$"{what}: the body's media type {mediaType ?? "(none)"} is not one of {string.Join(", ", content.Select(c => c.Key))}."];
        }

        JsonElement instance;
        try
        {
            instance = JsonDocument.Parse(body).RootElement;
        }
        catch (JsonException e)
        {
            return [$"{what}: the body is not JSON ({e.Message})."];
        }

        var schema = _schemas.GetOrAdd(media["schema"]!.ToJsonString(), Build);
        var result = schema.Evaluate(instance, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (result.IsValid)
        {
            return [];
        }

        var errors = (result.Details ?? [])
            .Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}"))
            .Distinct()
            .Take(10);
        return [$"{what}: the body does not match the declared schema: {string.Join("; ", errors)}. Body: {Truncate(System.Text.Encoding.UTF8.GetString(body))}"];
    }

    private JsonSchema Build(string schemaJson)
    {
        var wrapper = new JsonObject
        {
            ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
            ["$defs"] = _definitions.DeepClone(),
            ["allOf"] = new JsonArray(JsonNode.Parse(RewriteRefs(schemaJson))),
        };
        return JsonSchema.FromText(wrapper.ToJsonString(), new BuildOptions { SchemaRegistry = new SchemaRegistry() });
    }

    /// <summary>A <c>$ref</c> to <c>#/components/…</c> resolved within the document.</summary>
    public JsonNode Resolve(JsonNode node)
    {
        while (node is JsonObject o && o["$ref"]?.GetValue<string>() is { } reference)
        {
            node = reference.TrimStart('#').Split('/', StringSplitOptions.RemoveEmptyEntries).Aggregate((JsonNode)Document, (n, key) => n[key]!);
        }

        return node;
    }

    // Component schemas become the wrapper's $defs, so refs into them stay inside one JSON Schema document.
    private static string RewriteRefs(string json) => json.Replace("\"#/components/schemas/", "\"#/$defs/", StringComparison.Ordinal);

    /// <summary>How many literal segments matched, or null. With <paramref name="greedyLast"/> a final parameter may span segments.</summary>
    private static int? Matches(string[] template, string[] raw, bool greedyLast)
    {
        var lastIsParameter = template[^1].StartsWith('{');
        if (raw.Length != template.Length && !(greedyLast && lastIsParameter && raw.Length > template.Length))
        {
            return null;
        }

        var literals = 0;
        for (var i = 0; i < template.Length; i++)
        {
            if (template[i].StartsWith('{'))
            {
                if (raw[i].Length == 0)
                {
                    return null;
                }
            }
            else if (string.Equals(template[i], Uri.UnescapeDataString(raw[i]), StringComparison.OrdinalIgnoreCase))
            {
                literals++;
            }
            else
            {
                return null;
            }
        }

        return literals;
    }

    private static string Truncate(string text) => text.Length <= 600 ? text : text[..600] + "…";
}
