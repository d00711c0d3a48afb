using System.Text.Json.Nodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;

namespace Vivim.ExitNodes;

/// <summary>Signs protocol records the way the wire sees them: record → JSON → signatures → record.</summary>
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

    public static string StateUpdateJson(SigningKey key, StateUpdate update) =>
        ProtocolModel.ToJson(ProtocolModel.FromJsonObject<StateUpdate>(SignBoth(key, SignedKind.StateUpdate, update)));
}
