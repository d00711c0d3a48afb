using System.Text.Json.Nodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;

namespace Vivim.ExitNodes;

/// <summary>
/// Signs protocol records the way the wire sees them. Each is written to JSON once and signed in that object; the
/// signed object is what is sent or stored, so nothing is parsed back into a record only to be written again.
/// </summary>
internal static class ProtocolSigner
{
    /// <summary>v1 (the SDK's subset, so unmodified clients accept it) and then v2 (everything).</summary>
    public static JsonObject SignBoth<T>(SigningKey key, SignedKind kind, T value)
        where T : class
    {
        var json = ProtocolModel.ToJsonObject(value);
        SignatureV1.SignInPlace(key, kind, json);
        SignatureV2.SignInPlace(key, kind, json);
        return json;
    }

    public static TrustProof TrustProof(SigningKey key, TrustProofType type, string target, long timestamp, TrustProofPayload payload) =>
        ProtocolModel.FromJsonObject<TrustProof>(
            SignBoth(key, SignedKind.TrustProof, new TrustProof(type, key.Did.Value, target, string.Empty, timestamp, payload)));

    /// <summary>The commit signed v2: the record (for the stream) and its text (for the log), from one JSON object.</summary>
    public static (Commit Commit, string Json) SignCommit(SigningKey key, Commit commit)
    {
        var json = ProtocolModel.ToJsonObject(commit);
        SignatureV2.SignInPlace(key, SignedKind.Commit, json);
        var signature = json["proof"]!["signature"]!.GetValue<string>();
        return (commit with { Proof = new V2Proof(SignatureV2.ProofType, signature) }, JavaScriptJson.Stringify(json));
    }
}
