using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Vivim.Anchors;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Merkle;
using Vivim.Protocol.Model;
using Vivim.Protocol.State;
using Vivim.Protocol.Sync;
using Vivim.Tests.Support;

namespace Vivim.Tests.Grains;

/// <summary>The anchor's commit path pieces without a silo: applying a batch to the tree (and taking it back), and the batch's preconditions.</summary>
public sealed class AnchorCommitPiecesTests
{
    private static readonly SigningKey Author = SigningKey.FromSeedHex("0404040404040404040404040404040404040404040404040404040404040404");

    private static UpdateCandidate[] Candidates(params string[] updatesJson)
    {
        var authors = new ConcurrentDictionary<string, DidKey>(StringComparer.Ordinal);
        var candidates = updatesJson.Select((text, i) => UpdateCandidate.Check(i, text, new AnchorOptions(), DateTimeOffset.UtcNow, authors)).ToArray();
        Assert.All(candidates, c => Assert.Null(c.Rejection));
        return candidates;
    }

    [Fact]
    public void A_batch_applies_in_order_with_each_updates_root_proof_and_stored_json()
    {
        var tree = new SparseMerkleTree();
        var candidates = Candidates(
            SignedUpdates.Create(Author, "memoryIndex/a", new JsonObject { ["n"] = 1 }),
            SignedUpdates.Create(Author, "memoryIndex/b", new JsonObject { ["n"] = 2 }),
            SignedUpdates.Create(Author, "memoryIndex/a", null, UpdateOperation.Delete));
        var receipts = new UpdateReceipt?[3];

        var batch = new TreeBatch(tree);
        batch.Apply(candidates, firstSeq: 8, receipts);

        // Only b remains, and the last root is the tree's.
        var expected = new SparseMerkleTree();
        expected.Set("memoryIndex/b", StateRules.DocumentValue(new RawJson("""{"n":2}""")));
        Assert.Equal(expected.RootHex, tree.RootHex);
        Assert.Equal(tree.RootHex, batch.Roots[^1]);
        Assert.Equal([8L, 9L, 10L], batch.Logged.Select(l => l.Seq));
        Assert.Equal([8L, 9L, 10L], receipts.Select(r => r!.Seq));
        Assert.Equal(batch.Roots, receipts.Select(r => r!.Root));
        Assert.Equal(["""{"n":1}""", """{"n":2}""", null], batch.Documents.Select(d => d.Json));

        // What the log stores is the author's update with the anchor's seq and proof, and the proof verifies.
        var stored = ProtocolJson.ParseObject(batch.Logged[1].Json);
        Assert.Equal("9", JavaScriptJson.Stringify(stored["seq"]));
        Assert.Equal(batch.Proofs[1], stored["merkleProof"]!.GetValue<string>());
        Assert.True(MerkleVerifier.Verify(batch.Roots[1], "memoryIndex/b", StateRules.DocumentValue(new RawJson("""{"n":2}""")), batch.Proofs[1]));
    }

    [Fact]
    public void Undo_leaves_the_tree_as_the_batch_found_it()
    {
        var tree = new SparseMerkleTree();
        var first = Candidates(SignedUpdates.Create(Author, "memoryIndex/a", new JsonObject { ["v"] = "old" }));
        new TreeBatch(tree).Apply(first, 1, new UpdateReceipt?[1]);
        var before = tree.RootHex;
        var weightBefore = tree.TotalWeight;

        var batch = new TreeBatch(tree);
        batch.Apply(
            Candidates(
                SignedUpdates.Create(Author, "memoryIndex/a", new JsonObject { ["v"] = "a much longer new value" }, UpdateOperation.Update),
                SignedUpdates.Create(Author, "memoryIndex/b", new JsonObject { ["v"] = 2 }),
                SignedUpdates.Create(Author, "memoryIndex/a", null, UpdateOperation.Delete)),
            2,
            new UpdateReceipt?[3]);
        Assert.NotEqual(before, tree.RootHex);

        batch.Undo();
        Assert.Equal(before, tree.RootHex);
        Assert.Equal(weightBefore, tree.TotalWeight);
        Assert.False(tree.ContainsKey(MerkleHashes.KeyOf("memoryIndex/b")));

        batch.Undo(); // a second undo (a refusal, then a failure) changes nothing
        Assert.Equal(before, tree.RootHex);
    }

    [Fact]
    public async Task Preconditions_count_earlier_updates_of_the_same_batch()
    {
        var tree = new SparseMerkleTree();
        tree.Set("memoryIndex/present", StateRules.DocumentValue(new RawJson("1")));
        tree.Set("memoryIndex/other", StateRules.DocumentValue(new RawJson("1")));
        var candidates = Candidates(
            SignedUpdates.Create(Author, "memoryIndex/present", 1),                                  // 0: exists already
            SignedUpdates.Create(Author, "memoryIndex/new", 1),                                      // 1: fine
            SignedUpdates.Create(Author, "memoryIndex/new", 2, UpdateOperation.Update),              // 2: fine, created by 1
            SignedUpdates.Create(Author, "memoryIndex/absent", null, UpdateOperation.Delete),        // 3: not found
            SignedUpdates.Create(Author, "memoryIndex/other", 3, UpdateOperation.Update, baseSeq: 4),   // 4: changed at seq 5
            SignedUpdates.Create(Author, "memoryIndex/new", 3, UpdateOperation.Update, baseSeq: 12));   // 5: written by 2 at seq 13
        var lookedUp = new List<string>();

        var rejections = await BatchPreconditions.CheckAsync(candidates, tree, headSeq: 10, path =>
        {
            lookedUp.Add(path);
            return Task.FromResult(5L);
        });

        Assert.Equal(
            [(0, RejectionCodes.AlreadyExists), (3, RejectionCodes.NotFound), (4, RejectionCodes.Conflict), (5, RejectionCodes.Conflict)],
            rejections.Select(r => (r.Index, r.Code)));
        Assert.Contains("seq 13", rejections[^1].Reason, StringComparison.Ordinal);
        Assert.Equal(["memoryIndex/other"], lookedUp); // the log is read only for a present document with a baseSeq
    }
}
