using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Protocol.State;

namespace Vivim.Anchors;

/// <summary>
/// The anchor's signed snapshot of a state: the SDK-shaped state with its v1 root, which SDK 1.x clients check, and
/// the seq and tree root (v2) it stands at; signed v1 and v2 by the parent.
/// </summary>
internal static class SnapshotSigner
{
    public static StateSnapshot Sign(SigningKey key, string did, long seq, string rootV2, IEnumerable<KeyValuePair<string, JsonNode?>> documents, long createdAtMs)
    {
        var stateText = JavaScriptJson.StringifyToUtf8(StateLayout.BuildState(did, key.PublicKeyHex, documents), JsonLimits.Snapshot);
        var snapshot = ProtocolModel.ToJsonObject(new StateSnapshot(
            SnapshotId: $"{seq}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}",
            CreatedAt: createdAtMs,
            SourceDid: did,
            SourceCloneId: string.Empty,
            SdkVersion: "1.0.0",
            SchemaVersion: "1.0.0",
            MerkleRoot: SnapshotRootV1.Compute(stateText),
            State: new RawJson(Encoding.UTF8.GetString(stateText)),
            Signature: string.Empty,
            Seq: seq,
            RootV2: rootV2));
        SignatureV1.SignInPlace(key, SignedKind.StateSnapshot, snapshot);
        SignatureV2.SignInPlace(key, SignedKind.StateSnapshot, snapshot, JsonLimits.Snapshot);
        return ProtocolModel.FromJsonObject<StateSnapshot>(snapshot);
    }
}
