using System.Text.Json.Nodes;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;

namespace Vivim.Client.Replica;

/// <summary>
/// What a clone keeps about its registration (<c>registration.json</c> beside its replica): where its parent is,
/// who it is, and the trust proof it was given. Its key is not in here; it is the clone's identity key.
/// A clone registered over libp2p has no HTTP <see cref="Gateway"/> (""): it keeps its bootstrap peers and the gateway
/// peer that served it last. The replica beside it is the same on every transport, so a clone may switch and resume.
/// </summary>
public sealed record StoredRegistration(string Gateway, string ParentDid, string CloneId, string CloneDid, long RegisteredAt, TrustProof? TrustProof)
{
    public const string FileName = "registration.json";
    public const string HttpTransport = "http";
    public const string Libp2pTransport = "libp2p";

    /// <summary>How the clone registered: <see cref="HttpTransport"/> or <see cref="Libp2pTransport"/>.</summary>
    public string Transport { get; init; } = HttpTransport;

    /// <summary>libp2p: the bootstrap multiaddrs (with <c>/p2p/</c>) the clone finds the DHT through.</summary>
    public IReadOnlyList<string> Bootstrap { get; init; } = [];

    /// <summary>libp2p: the gateway peer that served the exit node last (with <c>/p2p/</c>); looked up again when it is gone.</summary>
    public string? Peer { get; init; }

    /// <summary>libp2p: <see cref="Peer"/> is a relay clone of the same parent, not a gateway (looked up under <c>/vivim/relay/</c>).</summary>
    public bool ThroughRelay { get; init; }

    public void Save(string directory)
    {
        var json = new JsonObject
        {
            ["gateway"] = Gateway,
            ["parentDid"] = ParentDid,
            ["cloneId"] = CloneId,
            ["cloneDid"] = CloneDid,
            ["registeredAt"] = RegisteredAt,
            ["transport"] = Transport,
        };
        if (Bootstrap.Count > 0)
        {
            json["bootstrap"] = new JsonArray([.. Bootstrap.Select(b => (JsonNode)JsonValue.Create(b))]);
        }

        if (Peer is not null)
        {
            json["peer"] = Peer;
        }

        if (ThroughRelay)
        {
            json["throughRelay"] = true;
        }

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
                json["trustProof"] is JsonObject proof ? ProtocolModel.FromJsonObject<TrustProof>(proof) : null)
            {
                Transport = json["transport"] is JsonValue t && t.TryGetValue<string>(out var transport) ? transport : HttpTransport,
                Bootstrap = json["bootstrap"] is JsonArray bootstrap
                    ? [.. bootstrap.Select(b => b is JsonValue v && v.TryGetValue<string>(out var text) ? text : throw new FormatException("A bootstrap address is not a string."))]
                    : [],
                Peer = json["peer"] is JsonValue p && p.TryGetValue<string>(out var peer) ? peer : null,
                ThroughRelay = json["throughRelay"] is JsonValue r && r.TryGetValue<bool>(out var throughRelay) && throughRelay,
            };
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
