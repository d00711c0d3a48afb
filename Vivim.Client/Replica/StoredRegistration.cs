using System.Text.Json.Nodes;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;

namespace Vivim.Client.Replica;

/// <summary>
/// What a clone keeps about its registration (<c>registration.json</c> beside its replica): where its parent is,
/// who it is, and the trust proof it was given. Its key is not in here; it is the clone's identity key.
/// </summary>
public sealed record StoredRegistration(string Gateway, string ParentDid, string CloneId, string CloneDid, long RegisteredAt, TrustProof? TrustProof)
{
    public const string FileName = "registration.json";

    public void Save(string directory)
    {
        var json = new JsonObject
        {
            ["gateway"] = Gateway,
            ["parentDid"] = ParentDid,
            ["cloneId"] = CloneId,
            ["cloneDid"] = CloneDid,
            ["registeredAt"] = RegisteredAt,
        };
        if (TrustProof is not null)
        {
            json["trustProof"] = ProtocolModel.ToJsonObject(TrustProof);
        }

        AtomicFile.WriteAllText(Path.Combine(directory, FileName), JavaScriptJson.Stringify(json, 2) + "\n");
    }

    /// <summary>The registration saved in <paramref name="directory"/>, or null when there is none.</summary>
    /// <exception cref="FormatException">The file is not a registration.</exception>
    public static StoredRegistration? Load(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            var json = ProtocolJson.ParseObject(File.ReadAllBytes(path));
            return new StoredRegistration(
                Text(json, "gateway"),
                Text(json, "parentDid"),
                Text(json, "cloneId"),
                Text(json, "cloneDid"),
                json["registeredAt"] is JsonValue at ? (long)JavaScriptJson.ToDouble(at) : 0,
                json["trustProof"] is JsonObject proof ? ProtocolModel.FromJsonObject<TrustProof>(proof) : null);
        }
        catch (Protocol.ProtocolException e)
        {
            throw new FormatException($"{path} is not a clone registration: {e.Message}", e);
        }
    }

    /// <summary>A directory name for a clone id (clone ids hold <c>:</c>, which some file systems refuse).</summary>
    public static string DirectoryNameOf(string cloneId) =>
        new([.. cloneId.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' ? c : '_')]);

    private static string Text(JsonObject json, string member) =>
        json[member] is JsonValue value && value.TryGetValue<string>(out var text) ? text : throw new FormatException($"The registration has no \"{member}\".");
}
