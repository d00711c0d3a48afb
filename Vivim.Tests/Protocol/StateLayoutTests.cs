using System.Text.Json.Nodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.State;
using Vivim.Tests.Support;

namespace Vivim.Tests.Protocol;

/// <summary>The one documents ↔ SDK state mapping that the anchor, the clients and the vectors share.</summary>
public sealed class StateLayoutTests
{
    private static readonly SigningKey Parent = SigningKey.FromSeedHex(ProtocolVectors.Seeds[4]);

    private static JsonArray SnapshotRootVectors() =>
        ProtocolJson.Parse(File.ReadAllBytes(Repository.PathOf("docs", "protocol-vectors.json")), JsonLimits.Snapshot, allowLoneSurrogates: true)!["snapshotRootV1"]!.AsArray();

    [Fact]
    public void The_v1_roots_built_through_the_layout_are_the_committed_vectors()
    {
        var vectors = SnapshotRootVectors();
        Assert.Equal(3, vectors.Count);
        foreach (var vector in vectors)
        {
            var state = vector!["state"]!.AsObject();
            var identity = state["identity"]!.AsObject();
            JsonObject Collection(string name) => state[name]!.AsObject().DeepClone().AsObject();
            var built = StateLayout.BuildState(
                identity["did"]!.GetValue<string>(),
                identity["publicKey"]!.GetValue<string>(),
                identity["profile"]?.DeepClone(),
                Collection("nodes"),
                Collection("apps"),
                Collection("contentManifest"),
                Collection("socialGraph"),
                Collection("memoryIndex"));

            Assert.Equal(vector["json"]!.GetValue<string>(), JavaScriptJson.Stringify(built));
            Assert.Equal(vector["merkleRoot"]!.GetValue<string>(), SnapshotRootV1.Compute(built));
        }
    }

    [Fact]
    public void Documents_read_from_the_empty_vector_state_rebuild_its_v1_root()
    {
        // The other vectors hold what documents cannot (lone surrogates) or keys out of the ordinal order the layout writes.
        var vector = SnapshotRootVectors()[0]!;
        var documents = StateLayout.ReadDocuments(vector["state"]!.AsObject(), out var did, out var publicKeyHex);

        var rebuilt = StateLayout.BuildState(did, publicKeyHex, documents);

        Assert.Empty(documents);
        Assert.Equal(vector["merkleRoot"]!.GetValue<string>(), SnapshotRootV1.Compute(rebuilt));
    }

    [Fact]
    public void Documents_map_to_categories_with_the_sdks_identity_members_first_and_keys_in_ordinal_order()
    {
        var documents = new Dictionary<string, RawJson>
        {
            ["nodes/laptop"] = new("""{"os":"linux"}"""),
            ["identity/avatar"] = new("\"a.png\""),
            ["memoryIndex/notes/2"] = new("2"),
            ["identity/profile"] = new("""{"name":"Ada"}"""),
            ["nodes/desktop"] = new("""{"os":"bsd"}"""),
            ["memoryIndex/notes/10"] = new("10"),
        };

        var state = StateLayout.BuildState(Parent.Did.Value, Parent.PublicKeyHex, documents);

        Assert.Equal(
            $$$"""{"identity":{"did":"{{{Parent.Did.Value}}}","publicKey":"{{{Parent.PublicKeyHex}}}","profile":{"name":"Ada"},"avatar":"a.png"},"nodes":{"desktop":{"os":"bsd"},"laptop":{"os":"linux"}},"apps":{},"contentManifest":{},"socialGraph":{},"memoryIndex":{"notes/10":10,"notes/2":2}}""",
            JavaScriptJson.Stringify(state));
    }

    [Fact]
    public void Reading_a_built_state_gives_back_every_document_and_the_identity()
    {
        var documents = new Dictionary<string, RawJson>
        {
            ["identity/profile"] = new("""{"name":"Ada"}"""),
            ["socialGraph/follows"] = new("""["did:key:z6Mkexample"]"""),
            ["apps/chat"] = new("""{"enabled":true}"""),
        };

        var read = StateLayout.ReadDocuments(StateLayout.BuildState(Parent.Did.Value, Parent.PublicKeyHex, documents), out var did, out var publicKeyHex);

        Assert.Equal(Parent.Did.Value, did);
        Assert.Equal(Parent.PublicKeyHex, publicKeyHex);
        Assert.Equal(documents.OrderBy(d => d.Key, StringComparer.Ordinal), read.OrderBy(d => d.Key, StringComparer.Ordinal));
    }

    [Fact]
    public void A_state_that_is_not_sdk_shaped_or_a_document_outside_the_categories_is_a_format_error()
    {
        Assert.Throws<FormatException>(() => StateLayout.ReadDocuments(ProtocolJson.ParseObject("""{"identity":{"did":"d","publicKey":"k"},"nodes":{},"apps":{},"contentManifest":{},"socialGraph":{}}"""), out _, out _));
        Assert.Throws<FormatException>(() => StateLayout.ReadDocuments(ProtocolJson.ParseObject("""{"identity":{"did":"d","publicKey":"k"},"nodes":[],"apps":{},"contentManifest":{},"socialGraph":{},"memoryIndex":{}}"""), out _, out _));
        Assert.Throws<FormatException>(() => StateLayout.ReadDocuments(ProtocolJson.ParseObject("""{"identity":{"publicKey":"k"},"nodes":{},"apps":{},"contentManifest":{},"socialGraph":{},"memoryIndex":{}}"""), out _, out _));
        Assert.Throws<FormatException>(() => StateLayout.ReadDocuments(ProtocolJson.ParseObject("""{"identity":{"did":"d","publicKey":"k"},"extra":{}}"""), out _, out _));
        Assert.Throws<FormatException>(() => StateLayout.BuildState("d", "k", [KeyValuePair.Create("elsewhere/x", RawJson.Null)]));
        Assert.Throws<FormatException>(() => StateLayout.BuildState("d", "k", [KeyValuePair.Create("nodes", RawJson.Null)]));
    }
}
