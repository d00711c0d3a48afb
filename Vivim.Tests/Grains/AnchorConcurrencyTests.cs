using System.Text.Json.Nodes;
using Vivim.Anchors;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Merkle;
using Vivim.Protocol.State;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;
using Vivim.Tests.Support;

namespace Vivim.Tests.Grains;

[Collection(ClusterCollection.Name)]
public sealed class AnchorConcurrencyTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Eight_writers_times_500_updates_give_gapless_seqs_and_each_update_once()
    {
        using var parent = SigningKey.Generate();
        var anchor = fixture.Client.GetGrain<IAnchorStateGrain>(parent.Did.Value);
        await anchor.InitializeAsync(new AnchorSetup(SignedUpdates.TestVault.Seal(parent.ExportSeed(), parent.Did.Value)));

        // The parent and seven clones with the write grant.
        var writers = new List<(SigningKey Key, string CloneId)> { (parent, string.Empty) };
        for (var i = 0; i < 7; i++)
        {
            var clone = SigningKey.Generate();
            var cloneId = $"clone-{i}-{Guid.NewGuid():N}";
            await anchor.SetWriterAsync(new WriterGrant(cloneId, clone.Did.Value, CanWrite: true));
            writers.Add((clone, cloneId));
        }

        const int PerWriter = 500, Batch = 25;
        var submitted = new HashSet<string>(StringComparer.Ordinal);
        await Task.WhenAll(writers.Select((w, wi) => Task.Run(async () =>
        {
            for (var start = 0; start < PerWriter; start += Batch)
            {
                var batch = Enumerable.Range(start, Batch)
                    .Select(i => SignedUpdates.Create(w.Key, $"memoryIndex/w{wi}/{i}", new JsonObject { ["i"] = i }, cloneId: w.CloneId))
                    .ToList();
                var result = await anchor.SubmitAsync(batch);
                Assert.Equal(SubmitOutcome.Committed, result.Outcome);
                lock (submitted)
                {
                    foreach (var receipt in result.Receipts)
                    {
                        submitted.Add(receipt.UpdateId);
                    }
                }
            }
        })));

        var head = await anchor.GetHeadAsync();
        Assert.Equal(writers.Count * PerWriter, head.Seq);

        // Read the whole log back: seqs 1..4000 without a gap, every update exactly once, and the roots chain up.
        var tree = new SparseMerkleTree();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var expectedSeq = 1L;
        for (var after = 0L; after < head.Seq;)
        {
            var page = (await anchor.GetUpdatesAsync(after, 1000)).Parse();
            var commits = page.Commits.ToDictionary(c => c.FromSeq);
            foreach (var update in page.Updates)
            {
                Assert.Equal(expectedSeq++, update.Seq);
                Assert.True(seen.Add(update.UpdateId), $"{update.UpdateId} appears twice");
                tree.Set(update.Path, StateRules.DocumentValue(update.Data));
                var commit = page.Commits.Single(c => c.FromSeq <= update.Seq && update.Seq <= c.ToSeq);
                Assert.Equal(commit.Roots[(int)(update.Seq!.Value - commit.FromSeq)], tree.RootHex);
            }

            after = page.Updates[^1].Seq!.Value;
        }

        Assert.Equal(submitted, seen);
        Assert.Equal(head.Root, tree.RootHex);
    }
}
