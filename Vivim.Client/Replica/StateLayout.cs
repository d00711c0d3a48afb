using System.Text.Json.Nodes;
using Vivim.Protocol.Model;
using Vivim.Protocol.State;

namespace Vivim.Client.Replica;

/// <summary>
/// How a snapshot's SDK-shaped <c>state</c> maps to tree documents. The five collections map key → document at
/// path <c>category/key</c>. The SDK's <c>identity</c> object is not a collection: its <c>did</c> and
/// <c>publicKey</c> describe the DID itself and are not documents; every other member (<c>profile</c>, and whatever
/// an <c>identity</c>-typed update wrote) is the document <c>identity/&lt;member&gt;</c>.
/// </summary>
public static class StateLayout
{
    public const string IdentityCategory = "identity";

    private static readonly string[] Reserved = ["did", "publicKey"];

    /// <summary>Reads the documents of a snapshot state; throws <see cref="FormatException"/> when it is not SDK-shaped.</summary>
    public static List<KeyValuePair<string, RawJson>> ReadDocuments(JsonObject state, out string did, out string publicKeyHex)
    {
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

    /// <summary>Builds the SDK's state object from documents (identity members first <c>did</c>, <c>publicKey</c>, then the documents).</summary>
    public static JsonObject BuildState(string did, string publicKeyHex, IEnumerable<KeyValuePair<string, RawJson>> documents)
    {
        var state = new JsonObject { [IdentityCategory] = new JsonObject { ["did"] = did, ["publicKey"] = publicKeyHex } };
        foreach (var category in SnapshotRootV1.Categories.Skip(1))
        {
            state[category] = new JsonObject();
        }

        foreach (var (path, document) in documents)
        {
            var slash = path.IndexOf('/', StringComparison.Ordinal);
            ((JsonObject)state[path[..slash]]!)[path[(slash + 1)..]] = document.Parse(Protocol.Json.JsonLimits.Snapshot);
        }

        return state;
    }
}
