using System.Text.Json.Nodes;

namespace Vivim.Tests.Infrastructure;

/// <summary>
/// The resources a deployment would create (<c>bicep snapshot</c>): modules flattened, parameters and variables
/// evaluated; values known only at deployment (another resource's outputs) stay ARM expressions.
/// </summary>
public sealed class DeploymentSnapshot(JsonObject snapshot)
{
    public IReadOnlyList<JsonObject> Resources { get; } = [.. snapshot["predictedResources"]!.AsArray().Select(r => r!.AsObject())];

    /// <summary>The evaluator's own diagnostics (none when every expression it could evaluate did).</summary>
    public IReadOnlyList<string> Diagnostics { get; } = [.. (snapshot["diagnostics"]?.AsArray() ?? []).Select(d => d!.ToJsonString())];

    public static async Task<DeploymentSnapshot> LoadAsync(string path) =>
        new((JsonObject)JsonNode.Parse(await File.ReadAllTextAsync(path))!);

    public IEnumerable<JsonObject> OfType(string type) =>
        Resources.Where(r => string.Equals((string?)r["type"], type, StringComparison.OrdinalIgnoreCase));

    public JsonObject Single(string type) => Assert.Single(OfType(type));

    public JsonObject Named(string type, string name) =>
        Assert.Single(OfType(type), r => string.Equals((string?)r["name"], name, StringComparison.Ordinal));

    /// <summary>The role assignments that grant <paramref name="roleDefinitionId"/> (a built-in role's GUID).</summary>
    public IReadOnlyList<JsonObject> RoleAssignments(string roleDefinitionId) =>
        [.. OfType("Microsoft.Authorization/roleAssignments").Where(r => ((string?)r["properties"]!["roleDefinitionId"] ?? string.Empty).Contains(roleDefinitionId, StringComparison.OrdinalIgnoreCase))];

    /// <summary>The first container of a container app or job.</summary>
    public static JsonObject Container(JsonObject app) => app["properties"]!["template"]!["containers"]![0]!.AsObject();

    /// <summary>A container's environment as (name, value or secret reference) pairs.</summary>
    public static IReadOnlyList<(string Name, string? Value, string? SecretRef)> Env(JsonObject app) =>
        [.. Container(app)["env"]!.AsArray().Select(e => ((string)e!["name"]!, (string?)e["value"], (string?)e["secretRef"]))];

    public static string? EnvValue(JsonObject app, string name) => Env(app).SingleOrDefault(e => e.Name == name).Value;
}
