using System.Text.Json.Nodes;
using Vivim.Protocol;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Merkle;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Protocol.State;

namespace Vivim.Client.Replica;

/// <summary>
/// A snapshot checked both ways: as SDK 1.x does (the v1 signature over <c>{merkleRoot, snapshotId}</c> and the v1
/// root over <c>JSON.stringify(state)</c>) and as we do (the v2 proof, and the state tree reproducing <c>rootV2</c>).
/// </summary>
public sealed record SnapshotCheck(bool V1Signature, bool V1Root, bool V2Signature, bool V2Root)
{
    public bool All => V1Signature && V1Root && V2Signature && V2Root;

    public static SnapshotCheck Run(StateSnapshot snapshot, string parentDid)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var key = DidKey.ResolvePublicKey(parentDid);
        var json = ProtocolModel.ToJsonObject(snapshot);
        var v1 = Try(() => SignatureV1.Verify(SignedKind.StateSnapshot, json, key));
        var v2 = Try(() => SignatureV2.Verify(SignedKind.StateSnapshot, json, key, JsonLimits.Snapshot));
        var v1Root = Try(() => string.Equals(SnapshotRootV1.Compute(snapshot.State.Parse(JsonLimits.Snapshot)!), snapshot.MerkleRoot, StringComparison.Ordinal));
        var v2Root = Try(() =>
        {
            var state = snapshot.State.Parse(JsonLimits.Snapshot) as JsonObject ?? throw new FormatException("The state is not an object.");
            var documents = StateLayout.ReadDocuments(state, out _, out _);
            var tree = SparseMerkleTree.BuildFromPaths(documents.Select(d => new KeyValuePair<string, byte[]>(d.Key, StateRules.DocumentValue(d.Value))));
            return string.Equals(tree.RootHex, snapshot.RootV2, StringComparison.Ordinal);
        });
        return new SnapshotCheck(v1, v1Root, v2, v2Root);
    }

    public override string ToString() => $"v1 signature {Ok(V1Signature)}, v1 root {Ok(V1Root)}, v2 proof {Ok(V2Signature)}, v2 root {Ok(V2Root)}";

    private static string Ok(bool value) => value ? "ok" : "FAILED";

    private static bool Try(Func<bool> check)
    {
        try
        {
            return check();
        }
        catch (Exception e) when (e is ProtocolException or FormatException or ArgumentException)
        {
            return false;
        }
    }
}
