using System.Text.Json.Nodes;
using Orleans.TestingHost;
using Vivim.Anchors;
using Vivim.Feeds;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;
using Vivim.Security;
using Vivim.Storage;
using Vivim.Tests.Support;

namespace Vivim.Tests.Storage;

/// <summary>
/// The anchor over the PostgreSQL log, which refuses a retained update id in the append itself: the anchor commits
/// without looking ids up first, and a retry still gets its original receipt however it is caught.
/// </summary>
public sealed class AnchorOnPostgreSqlLogTests(PostgresLogFixture fixture) : IClassFixture<PostgresLogFixture>
{
    [Fact]
    public async Task Fresh_batches_commit_in_one_round_trip_and_retries_still_get_their_original_receipts()
    {
        var log = new CountingLog(fixture.Log);
        var state = new SharedMemoryGrainStorage();
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) => ClusterFixture.ConfigureSilo(silo, log, state));
        builder.ConfigureClient(client => client.AddMemoryStreams(DidStreams.Provider).AddVivimOperatorCredentials(ClusterFixture.TestClusterSecret));
        await using var cluster = builder.Build();
        await cluster.DeployAsync();

        using var parent = SigningKey.Generate();
        var anchor = cluster.Client.GetGrain<IAnchorStateGrain>(parent.Did.Value);
        await anchor.InitializeAsync(new AnchorSetup(SignedUpdates.TestVault.Seal(parent.ExportSeed(), parent.Did.Value)));

        // Fresh batches: appended without a lookup.
        var created = SignedUpdates.Create(parent, "apps/chat", new JsonObject { ["on"] = true });
        var original = await anchor.SubmitAsync([created]);
        var edited = SignedUpdates.Create(parent, "apps/chat", new JsonObject { ["on"] = false }, UpdateOperation.Update);
        var editedFirst = await anchor.SubmitAsync([edited]);
        Assert.Equal(SubmitOutcome.Committed, editedFirst.Outcome);
        Assert.Equal(0, log.Finds);
        var head = await anchor.GetHeadAsync();
        Assert.Equal(2, head.Seq);

        // A retried update whose checks pass again (an update of a path that still exists): the append refuses it,
        // and the lookup turns it into its original receipt. Nothing was written, the tree is as it was.
        var retried = await anchor.SubmitAsync([edited]);
        Assert.Equal(SubmitOutcome.Committed, retried.Outcome);
        Assert.Equal(editedFirst.Receipts, retried.Receipts);
        Assert.Equal(head, await anchor.GetHeadAsync());
        Assert.Equal(1, log.Finds);

        // A retried create, whose check now fails (the path exists): the refusal is a retry's, so its receipt.
        var again = await anchor.SubmitAsync([created]);
        Assert.Equal(SubmitOutcome.Committed, again.Outcome);
        Assert.Equal(original.Receipts, again.Receipts);
        Assert.Equal(head, await anchor.GetHeadAsync());

        // A retry with a new update: the old one keeps its receipt, the new one lands right after the head.
        var mixed = await anchor.SubmitAsync([edited, SignedUpdates.Create(parent, "apps/maps", new JsonObject())]);
        Assert.Equal(SubmitOutcome.Committed, mixed.Outcome);
        Assert.Equal([2L, 3], mixed.Receipts.Select(r => r.Seq));
        var afterMixed = await anchor.GetHeadAsync();
        Assert.Equal(3, afterMixed.Seq);

        // The id of a committed update with other content is refused, and a refusal that is nobody's retry stays one.
        var reused = SignedUpdates.Create(parent, "apps/chat", new JsonObject { ["on"] = "other" }, UpdateOperation.Update, updateId: editedFirst.Receipts[0].UpdateId);
        var refused = await anchor.SubmitAsync([reused]);
        Assert.Equal(SubmitOutcome.Rejected, refused.Outcome);
        Assert.Equal(RejectionCodes.DuplicateUpdateId, Assert.Single(refused.Rejections).Code);
        var missing = await anchor.SubmitAsync([SignedUpdates.Create(parent, "apps/none", new JsonObject(), UpdateOperation.Update)]);
        Assert.Equal(SubmitOutcome.Rejected, missing.Outcome);
        Assert.Equal(RejectionCodes.NotFound, Assert.Single(missing.Rejections).Code);
        Assert.Equal(afterMixed, await anchor.GetHeadAsync());
        Assert.Equal(3, (await fixture.Log.GetBoundsAsync(parent.Did.Value)).LastSeq);
    }

    /// <summary>The log, with its lookups by id counted.</summary>
    private sealed class CountingLog(IUpdateLog inner) : IUpdateLog
    {
        private int _finds;

        public int Finds => Volatile.Read(ref _finds);

        public bool RefusesRetainedUpdateIds => inner.RefusesRetainedUpdateIds;

        public Task<IReadOnlyDictionary<string, LoggedUpdate>> FindUpdatesAsync(string did, IReadOnlyCollection<string> updateIds, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _finds);
            return inner.FindUpdatesAsync(did, updateIds, cancellationToken);
        }

        public Task AppendAsync(string did, LogAppend append, CancellationToken cancellationToken = default) => inner.AppendAsync(did, append, cancellationToken);

        public Task<LogPage> ReadAsync(string did, long afterSeq, int limit, CancellationToken cancellationToken = default) => inner.ReadAsync(did, afterSeq, limit, cancellationToken);

        public Task<PackedLogPage> ReadPackedAsync(string did, long afterSeq, int limit, CancellationToken cancellationToken = default) => inner.ReadPackedAsync(did, afterSeq, limit, cancellationToken);

        public Task<LogBounds> GetBoundsAsync(string did, CancellationToken cancellationToken = default) => inner.GetBoundsAsync(did, cancellationToken);

        public Task TruncateAsync(string did, long throughSeq, CancellationToken cancellationToken = default) => inner.TruncateAsync(did, throughSeq, cancellationToken);

        public Task<StoredDocument?> ReadDocumentAsync(string did, string path, CancellationToken cancellationToken = default) => inner.ReadDocumentAsync(did, path, cancellationToken);

        public IAsyncEnumerable<StoredDocument> ReadDocumentsAsync(string did, CancellationToken cancellationToken = default) => inner.ReadDocumentsAsync(did, cancellationToken);

        public IAsyncEnumerable<DocumentLeaf> ReadLeavesAsync(string did, CancellationToken cancellationToken = default) => inner.ReadLeavesAsync(did, cancellationToken);

        public Task DeleteAsync(string did, CancellationToken cancellationToken = default) => inner.DeleteAsync(did, cancellationToken);
    }
}
