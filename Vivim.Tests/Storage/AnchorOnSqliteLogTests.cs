using System.Text.Json.Nodes;
using Vivim.Anchors;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Merkle;
using Vivim.Protocol.Model;
using Vivim.Protocol.State;
using Vivim.Protocol.Sync;
using Vivim.Tests.Support;

namespace Vivim.Tests.Storage;

/// <summary>The anchor grain over the durable SQLite log: what it acknowledged is what a new activation rebuilds.</summary>
public sealed class AnchorOnSqliteLogTests
{
    [Fact]
    public async Task An_anchor_deactivated_or_restarted_on_the_SQLite_log_comes_back_with_the_same_head_and_root()
    {
        var file = await UpdateLogDatabases.CreateSqliteAsync();
        var state = new SharedMemoryGrainStorage();
        using var parent = SigningKey.Generate();
        try
        {
            AnchorHead head;
            await using (var cluster = await SqliteCluster.StartAsync(file, state))
            {
                var anchor = cluster.Client.GetGrain<IAnchorStateGrain>(parent.Did.Value);
                await anchor.InitializeAsync(new AnchorSetup(SignedUpdates.TestVault.Seal(parent.ExportSeed(), parent.Did.Value)));
                for (var b = 0; b < 5; b++)
                {
                    var batch = Enumerable.Range(0, 20).Select(i => SignedUpdates.Create(parent, $"memoryIndex/notes/{b}-{i}", new JsonObject { ["b"] = b, ["text"] = "Grüße 😀" })).ToList();
                    batch.Add(SignedUpdates.Create(parent, $"nodes/n{b}", new JsonObject { ["b"] = b }));
                    if (b > 0)
                    {
                        batch.Add(SignedUpdates.Create(parent, $"nodes/n{b - 1}", null, UpdateOperation.Delete));
                        batch.Add(SignedUpdates.Create(parent, $"memoryIndex/notes/{b - 1}-0", new JsonObject { ["edited"] = true }, UpdateOperation.Update));
                    }

                    Assert.Equal(SubmitOutcome.Committed, (await anchor.SubmitAsync(batch)).Outcome);
                }

                head = await anchor.GetHeadAsync();
                Assert.Equal(21 + (4 * 23), head.Seq);
                Assert.True(head.StateBytes > 2000, $"StateBytes {head.StateBytes}"); // compared whole after reactivation and restart

                // Deactivate it, and check that the next call really meets a new activation.
                var grainId = anchor.GetGrainId();
                Assert.True(cluster.Cluster.TryGetGrainContext(grainId, out var before));
                await cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
                await Until.TrueAsync(() => !cluster.Cluster.TryGetGrainContext(grainId, out _), () => "the anchor was not deactivated");
                Assert.Equal(head, await anchor.GetHeadAsync());
                Assert.True(cluster.Cluster.TryGetGrainContext(grainId, out var after));
                Assert.NotSame(before, after);
                await AssertStateMatchesAsync(anchor, head);
            }

            // A new cluster (a restarted node) on the same file.
            await using (var cluster = await SqliteCluster.StartAsync(file, state))
            {
                var anchor = cluster.Client.GetGrain<IAnchorStateGrain>(parent.Did.Value);
                Assert.Equal(head, await anchor.GetHeadAsync());
                await AssertStateMatchesAsync(anchor, head);

                var next = await anchor.SubmitAsync([SignedUpdates.Create(parent, "apps/after-restart", new JsonObject())]);
                Assert.Equal(head.Seq + 1, Assert.Single(next.Receipts).Seq);
                var page = (await anchor.GetUpdatesAsync(head.Seq, 10)).Parse();
                Assert.Equal(head.Root, Assert.Single(page.Commits).PrevRoot);
            }
        }
        finally
        {
            UpdateLogDatabases.DeleteSqlite(file);
        }
    }

    /// <summary>Replays the whole log into a fresh tree: it must end at the head's root, and proofs must verify under it.</summary>
    private static async Task AssertStateMatchesAsync(IAnchorStateGrain anchor, AnchorHead head)
    {
        var tree = new SparseMerkleTree();
        var after = 0L;
        while (after < head.Seq)
        {
            var page = (await anchor.GetUpdatesAsync(after, 50)).Parse();
            foreach (var update in page.Updates)
            {
                if (update.Operation == UpdateOperation.Delete)
                {
                    tree.Remove(update.Path);
                }
                else
                {
                    tree.Set(update.Path, StateRules.DocumentValue(update.Data));
                }
            }

            after = page.Updates[^1].Seq!.Value;
        }

        Assert.Equal(head.Root, tree.RootHex);
        var document = await anchor.GetDocumentAsync("memoryIndex/notes/3-0");
        Assert.Equal("""{"edited":true}""", document!.Document.Text);
        Assert.True(MerkleVerifier.Verify(head.Root, "memoryIndex/notes/3-0", StateRules.DocumentValue(document.Document), document.MerkleProof));
        Assert.Null(await anchor.GetDocumentAsync("nodes/n3"));
    }
}
