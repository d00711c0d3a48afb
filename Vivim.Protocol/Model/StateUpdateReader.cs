using System.Text.Json;
using System.Text.Json.Nodes;

namespace Vivim.Protocol.Model;

/// <summary>
/// Reads a <see cref="StateUpdate"/> straight from parsed JSON, with the same strictness as
/// <see cref="ProtocolModel.FromJsonObject{T}"/> (unknown, missing, null and mistyped members refused; enums by exact
/// name; integers must be exact and safe) but without its serialize-and-reparse round trip: this is the hot path of
/// every write.
/// </summary>
public static class StateUpdateReader
{
    private static readonly HashSet<string> Members = new(StringComparer.Ordinal)
    {
        "updateId", "type", "timestamp", "sourceDid", "sourceCloneId", "operation", "path", "data", "merkleProof", "signature", "proof", "seq", "baseSeq",
    };

    private static readonly Dictionary<string, UpdateType> Types = Names<UpdateType>();
    private static readonly Dictionary<string, UpdateOperation> Operations = Names<UpdateOperation>();

    public static StateUpdate Read(JsonObject json)
    {
        foreach (var (name, _) in json)
        {
            if (!Members.Contains(name))
            {
                throw Invalid(name, "is not a member of StateUpdate.");
            }
        }

        if (!json.TryGetPropertyValue("data", out var data))
        {
            throw Invalid("data", "is required.");
        }

        return new StateUpdate(
            UpdateId: String(json, "updateId"),
            Type: Enum(json, "type", Types),
            Timestamp: Integer(json, "timestamp") ?? throw Invalid("timestamp", "is required."),
            SourceDid: String(json, "sourceDid"),
            SourceCloneId: String(json, "sourceCloneId"),
            Operation: Enum(json, "operation", Operations),
            Path: String(json, "path"),
            Data: RawJson.From(data),
            MerkleProof: String(json, "merkleProof"),
            Signature: String(json, "signature"),
            Proof: Proof(json),
            Seq: Integer(json, "seq"),
            BaseSeq: Integer(json, "baseSeq"));
    }

    private static string String(JsonObject json, string name) =>
        json[name] is JsonValue value && value.GetValueKind() == JsonValueKind.String
            ? value.GetValue<string>()
            : throw Invalid(name, json.ContainsKey(name) ? "must be a string." : "is required.");

    private static T Enum<T>(JsonObject json, string name, Dictionary<string, T> names)
        where T : struct, Enum =>
        names.TryGetValue(String(json, name), out var value)
            ? value
            : throw Invalid(name, $"must be one of: {string.Join(", ", names.Keys)}.");

    private static long? Integer(JsonObject json, string name)
    {
        var node = json[name];
        if (node is null)
        {
            return null;
        }

        if (node is JsonValue value && value.GetValueKind() == JsonValueKind.Number)
        {
            if (SafeIntegerConverter.TryRead(Json.JavaScriptJson.ToDouble(value), out var integer))
            {
                return integer;
            }
        }

        throw Invalid(name, "must be an integer.");
    }

    private static V2Proof? Proof(JsonObject json)
    {
        var node = json["proof"];
        if (node is null)
        {
            return null;
        }

        if (node is not JsonObject proof || proof.Count != 2)
        {
            throw Invalid("proof", "must be {type, signature}.");
        }

        try
        {
            return new V2Proof(String(proof, "type"), String(proof, "signature"));
        }
        catch (ProtocolModelException e)
        {
            throw Invalid("proof", e.Message);
        }
    }

    private static ProtocolModelException Invalid(string member, string problem) =>
        new($"Not a valid StateUpdate at $.{member}: '{member}' {problem}");

    private static Dictionary<string, T> Names<T>()
        where T : struct, Enum =>
        System.Enum.GetValues<T>().ToDictionary(v => JsonNamingPolicy.CamelCase.ConvertName(v.ToString()), StringComparer.Ordinal);
}
