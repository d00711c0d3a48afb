using System.Text.Json.Nodes;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;

namespace Vivim.Protocol.State;

/// <summary>
/// How the SDK's state object (a snapshot's <c>state</c>) and the tree's documents map to each other: the one place
/// the anchor that signs snapshots, the clients that check them and the test vectors take that mapping from.
/// </summary>
/// <remarks>
/// The five collections map key → document at path <c>category/key</c>. The SDK's <c>identity</c> object is not a
/// collection: its <c>did</c> and <c>publicKey</c> describe the DID itself and are not documents; every other member
/// (<c>profile</c>, and whatever an <c>identity</c>-typed update wrote) is the document <c>identity/&lt;member&gt;</c>.
/// Built from documents, the state lists <c>did</c>, <c>publicKey</c>, <c>profile</c> (the SDK's own members) and then
/// the other identity documents, and each collection, in ordinal key order: the order decides the v1 root, which hashes
/// <c>JSON.stringify(state)</c>.
/// </remarks>
public static class StateLayout
{
    public const string IdentityCategory = "identity";

    private const string ProfileKey = "profile";

    private static readonly string[] Reserved = ["did", "publicKey"];

    /// <summary>
    /// Builds <c>{identity: {did, publicKey, profile?}, nodes, apps, contentManifest, socialGraph, memoryIndex}</c> in
    /// SDK order from collections as given (their member order is kept). A null profile is left out as the SDK does.
    /// </summary>
    public static JsonObject BuildState(
        string did,
        string publicKeyHex,
        JsonNode? profile,
        JsonObject nodes,
        JsonObject apps,
        JsonObject contentManifest,
        JsonObject socialGraph,
        JsonObject memoryIndex)
    {
        var identity = new JsonObject { ["did"] = did, ["publicKey"] = publicKeyHex };
        if (profile is not null)
        {
            identity[ProfileKey] = profile;
        }

        return new JsonObject
        {
            [IdentityCategory] = identity,
            ["nodes"] = nodes,
            ["apps"] = apps,
            ["contentManifest"] = contentManifest,
            ["socialGraph"] = socialGraph,
            ["memoryIndex"] = memoryIndex,
        };
    }

    /// <summary>Builds the state from documents by path, in any order; each node is taken over, not copied.</summary>
    /// <exception cref="FormatException">A path is not <c>category/key</c> of a known category.</exception>
    public static JsonObject BuildState(string did, string publicKeyHex, IEnumerable<KeyValuePair<string, JsonNode?>> documents)
    {
        ArgumentNullException.ThrowIfNull(documents);
        var categories = SnapshotRootV1.Categories.ToDictionary(c => c, _ => new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal), StringComparer.Ordinal);
        foreach (var (path, document) in documents)
        {
            var slash = path.IndexOf('/', StringComparison.Ordinal);
            if (slash <= 0 || !categories.TryGetValue(path[..slash], out var members))
            {
                throw new FormatException($"\"{path}\" is not in one of the state's categories.");
            }

            members[path[(slash + 1)..]] = document;
        }

        var identity = categories[IdentityCategory];
        var profile = identity.GetValueOrDefault(ProfileKey);
        identity.Remove(ProfileKey);
        JsonObject Collection(string category) => new(categories[category]);
        var state = BuildState(did, publicKeyHex, profile, Collection("nodes"), Collection("apps"), Collection("contentManifest"), Collection("socialGraph"), Collection("memoryIndex"));
        var identityJson = state[IdentityCategory]!.AsObject();
        foreach (var (name, value) in identity)
        {
            identityJson[name] = value;
        }

        return state;
    }

    /// <summary>Builds the state from stored documents (parsed under <see cref="JsonLimits.Snapshot"/>).</summary>
    public static JsonObject BuildState(string did, string publicKeyHex, IEnumerable<KeyValuePair<string, RawJson>> documents) =>
        BuildState(did, publicKeyHex, documents.Select(d => new KeyValuePair<string, JsonNode?>(d.Key, d.Value.Parse(JsonLimits.Snapshot))));

    /// <summary>Reads the documents of a snapshot state; throws <see cref="FormatException"/> when it is not SDK-shaped.</summary>
    public static List<KeyValuePair<string, RawJson>> ReadDocuments(JsonObject state, out string did, out string publicKeyHex)
    {
        ArgumentNullException.ThrowIfNull(state);
        var documents = new List<KeyValuePair<string, RawJson>>();
        foreach (var (category, value) in state)
        {
            if (!SnapshotRootV1.Categories.Contains(category))
            {
                throw new FormatException($"The state has an unknown member \"{category}\".");
            }

            if (value is not JsonObject members)
            {
                throw new FormatException($"The state's \"{category}\" is not an object.");
            }

            foreach (var (key, document) in members)
            {
                if (category == IdentityCategory && Reserved.Contains(key))
                {
                    continue;
                }

                documents.Add(new($"{category}/{key}", RawJson.From(document)));
            }
        }

        var identity = state[IdentityCategory] as JsonObject ?? throw new FormatException("The state has no identity.");
        did = identity["did"] is JsonValue d && d.TryGetValue<string>(out var didText) ? didText : throw new FormatException("The identity has no did.");
        publicKeyHex = identity["publicKey"] is JsonValue k && k.TryGetValue<string>(out var keyText) ? keyText : throw new FormatException("The identity has no publicKey.");
        foreach (var category in SnapshotRootV1.Categories)
        {
            if (state[category] is null)
            {
                throw new FormatException($"The state has no \"{category}\".");
            }
        }

        return documents;
    }
}
