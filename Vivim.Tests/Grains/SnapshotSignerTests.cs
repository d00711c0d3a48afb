using System.Text.Json.Nodes;
using Vivim.Anchors;
using Vivim.Client.Replica;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Merkle;
using Vivim.Protocol.Model;
using Vivim.Protocol.State;

namespace Vivim.Tests.Grains;

/// <summary>The anchor's snapshot, built and signed without a silo, passes every check an SDK 1.x client and ours make.</summary>
public sealed class SnapshotSignerTests
{
    [Fact]
    public void A_signed_snapshot_passes_both_clients_checks_and_holds_the_documents_in_sdk_order()
    {
        using var parent = SigningKey.FromSeedHex("0505050505050505050505050505050505050505050505050505050505050505");
        var documents = new Dictionary<string, string>
        {
            ["nodes/laptop"] = """{"os":"linux"}""",
            ["identity/profile"] = """{"name":"Ada"}""",
            ["apps/chat"] = """{"enabled":true,"limits":[1e21,0.1]}""",
        };
        var tree = SparseMerkleTree.BuildFromPaths(documents.Select(d => KeyValuePair.Create(d.Key, StateRules.DocumentValue(new RawJson(d.Value)))));

        var snapshot = SnapshotSigner.Sign(parent, parent.Did.Value, 42, tree.RootHex, documents.Select(d => KeyValuePair.Create(d.Key, ProtocolJson.Parse(d.Value))), 1_767_225_600_000);

        var check = SnapshotCheck.Run(snapshot, parent.Did.Value);
        Assert.True(check.All, check.ToString());
        Assert.Equal(42, snapshot.Seq);
        Assert.Equal(tree.RootHex, snapshot.RootV2);
        Assert.Equal(parent.Did.Value, snapshot.SourceDid);
        Assert.StartsWith("42-", snapshot.SnapshotId, StringComparison.Ordinal);
        Assert.Equal(
            $$$"""{"identity":{"did":"{{{parent.Did.Value}}}","publicKey":"{{{parent.PublicKeyHex}}}","profile":{"name":"Ada"}},"nodes":{"laptop":{"os":"linux"}},"apps":{"chat":{"enabled":true,"limits":[1e+21,0.1]}},"contentManifest":{},"socialGraph":{},"memoryIndex":{}}""",
            snapshot.State.Text);
    }

    [Fact]
    public void A_snapshot_signed_by_another_key_fails_the_signature_checks()
    {
        using var parent = SigningKey.FromSeedHex("0505050505050505050505050505050505050505050505050505050505050505");
        using var other = SigningKey.FromSeedHex("0606060606060606060606060606060606060606060606060606060606060606");

        var snapshot = SnapshotSigner.Sign(other, parent.Did.Value, 0, new SparseMerkleTree().RootHex, Array.Empty<KeyValuePair<string, JsonNode?>>(), 0);

        var check = SnapshotCheck.Run(snapshot, parent.Did.Value);
        Assert.False(check.V1Signature);
        Assert.False(check.V2Signature);
    }
}
