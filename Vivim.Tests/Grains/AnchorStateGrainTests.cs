using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Vivim.Anchors;
using Vivim.Feeds;
using Vivim.Protocol;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Merkle;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Protocol.State;
using Vivim.Protocol.Sync;
using Vivim.Tests.Support;

namespace Vivim.Tests.Grains;

[Collection(ClusterCollection.Name)]
public sealed class AnchorStateGrainTests(ClusterFixture fixture)
{
    private async Task<(SigningKey Parent, IAnchorStateGrain Anchor)> NewAnchorAsync()
    {
        var parent = SigningKey.Generate();
        var anchor = fixture.Client.GetGrain<IAnchorStateGrain>(parent.Did.Value);
        await anchor.InitializeAsync(new AnchorSetup(SignedUpdates.TestVault.Seal(parent.ExportSeed(), parent.Did.Value)));
        return (parent, anchor);
    }

    [Fact]
    public async Task A_batch_is_ordered_committed_signed_and_readable_with_proofs()
    {
        var (parent, anchor) = await NewAnchorAsync();
        var batch = new[]
        {
            SignedUpdates.Create(parent, "nodes/laptop", new JsonObject { ["os"] = "linux" }),
            SignedUpdates.Create(parent, "memoryIndex/notes/1", new JsonObject { ["text"] = "Grüße 😀", ["n"] = 1e21 }),
            SignedUpdates.Create(parent, "nodes/laptop", new JsonObject { ["os"] = "bsd" }, UpdateOperation.Update),
            SignedUpdates.Create(parent, "identity/profile", new JsonObject { ["name"] = "Ada" }),
        };

        var result = await anchor.SubmitAsync(batch);
        Assert.Equal(SubmitOutcome.Committed, result.Outcome);
        Assert.Equal([1L, 2, 3, 4], result.Receipts.Select(r => r.Seq));

        var head = await anchor.GetHeadAsync();
        Assert.Equal(4, head.Seq);
        Assert.Equal(result.Receipts[^1].Root, head.Root);

        // The page: every update with its seq and a proof under the root right after it; one commit, signed by the parent.
        var page = (await anchor.GetUpdatesAsync(0, 100)).Parse();
        Assert.Equal([1L, 2, 3, 4], page.Updates.Select(u => u.Seq!.Value));
        var commit = Assert.Single(page.Commits);
        Assert.True(SignatureV2.Verify(SignedKind.Commit, ProtocolModel.ToJsonObject(commit), parent.PublicKey));
        Assert.Equal((1L, 4L), (commit.FromSeq, commit.ToSeq));
        Assert.Equal(MerkleHashes.Empty.ToArray(), Convert.FromHexString(commit.PrevRoot));
        Assert.Equal(result.Receipts.Select(r => r.Root), commit.Roots);

        var tree = new SparseMerkleTree();
        for (var i = 0; i < page.Updates.Count; i++)
        {
            var update = page.Updates[i];
            var json = ProtocolModel.ToJsonObject(update);
            Assert.Equal(commit.UpdateHashes[i], SignatureV2.ContentHash(SignedKind.StateUpdate, json));
            Assert.True(SignatureV2.Verify(SignedKind.StateUpdate, json, parent.PublicKey));
            tree.Set(update.Path, StateRules.DocumentValue(update.Data));
            Assert.Equal(commit.Roots[i], tree.RootHex);
            Assert.True(MerkleVerifier.Verify(commit.Roots[i], update.Path, StateRules.DocumentValue(update.Data), update.MerkleProof));
        }

        var document = await anchor.GetDocumentAsync("nodes/laptop");
        Assert.NotNull(document);
        Assert.Equal("""{"os":"bsd"}""", document.Document.Text);
        Assert.Equal(3, document.Seq);
        Assert.True(MerkleVerifier.Verify(head.Root, "nodes/laptop", StateRules.DocumentValue(document.Document), document.MerkleProof));
        Assert.Null(await anchor.GetDocumentAsync("nodes/phone"));
    }

    [Fact]
    public async Task The_snapshot_verifies_as_SDK_1_would_and_carries_the_v2_root()
    {
        var (parent, anchor) = await NewAnchorAsync();
        await anchor.SubmitAsync([
            SignedUpdates.Create(parent, "identity/profile", new JsonObject { ["name"] = "Ada" }),
            SignedUpdates.Create(parent, "nodes/10", new JsonObject { ["n"] = 10 }),
            SignedUpdates.Create(parent, "nodes/2", new JsonObject { ["n"] = 2 }),
            SignedUpdates.Create(parent, "memoryIndex/notes/a", new JsonArray(1, "x")),
        ]);

        var snapshot = await anchor.GetSnapshotAsync();
        var json = ProtocolModel.ToJsonObject(snapshot);

        // Exactly what SDK 1.x checks: the v1 signature over {merkleRoot, snapshotId} and the v1 root of state.
        var sdkView = ProtocolJson.ParseObject(Encoding.UTF8.GetBytes(ProtocolModel.ToJson(snapshot)));
        Assert.True(SignatureV1.Verify(SignedKind.StateSnapshot, sdkView, DidKey.Parse(parent.Did.Value).PublicKey));
        Assert.Equal(snapshot.MerkleRoot, SnapshotRootV1.Compute(sdkView["state"]!));
        Assert.True(SignatureV2.Verify(SignedKind.StateSnapshot, json, parent.PublicKey, JsonLimits.Snapshot));
        Assert.Equal(4, snapshot.Seq);
        Assert.Equal((await anchor.GetHeadAsync()).Root, snapshot.RootV2);

        var state = sdkView["state"]!;
        Assert.Equal(parent.Did.Value, state["identity"]!["did"]!.GetValue<string>());
        Assert.Equal(parent.PublicKeyHex, state["identity"]!["publicKey"]!.GetValue<string>());
        Assert.Equal("Ada", state["identity"]!["profile"]!["name"]!.GetValue<string>());
        Assert.StartsWith("""{"2":{"n":2},"10":{"n":10}}""", JavaScriptJson.Stringify(state["nodes"]), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_retried_update_gets_its_original_receipt_and_never_a_second_seq()
    {
        var (parent, anchor) = await NewAnchorAsync();
        var first = SignedUpdates.Create(parent, "apps/chat", new JsonObject { ["on"] = true });
        var original = await anchor.SubmitAsync([first]);
        await anchor.SubmitAsync([SignedUpdates.Create(parent, "apps/mail", new JsonObject { ["on"] = true })]);

        var retry = await anchor.SubmitAsync([first]);
        Assert.Equal(SubmitOutcome.Committed, retry.Outcome);
        Assert.Equal(original.Receipts, retry.Receipts);
        Assert.Equal(2, (await anchor.GetHeadAsync()).Seq);

        // A mixed retry: the old one keeps its receipt, the new one is committed after the head.
        var mixed = await anchor.SubmitAsync([first, SignedUpdates.Create(parent, "apps/maps", new JsonObject())]);
        Assert.Equal([1L, 3], mixed.Receipts.Select(r => r.Seq));

        // The same change re-signed later (a new timestamp and signatures, as an owner retry through the exit node is)
        // is the same write: its original receipt.
        var resigned = SignedUpdates.Create(parent, "apps/chat", new JsonObject { ["on"] = true }, timestamp: DateTimeOffset.UtcNow.AddSeconds(-30).ToUnixTimeMilliseconds(), updateId: original.Receipts[0].UpdateId);
        Assert.NotEqual(first, resigned);
        var again = await anchor.SubmitAsync([resigned]);
        Assert.Equal(SubmitOutcome.Committed, again.Outcome);
        Assert.Equal(original.Receipts, again.Receipts);
        Assert.Equal(3, (await anchor.GetHeadAsync()).Seq);

        // The same id with other content is refused.
        var reused = SignedUpdates.Create(parent, "apps/chat", new JsonObject { ["on"] = false }, UpdateOperation.Update, updateId: original.Receipts[0].UpdateId);
        var refused = await anchor.SubmitAsync([reused]);
        Assert.Equal(SubmitOutcome.Rejected, refused.Outcome);
        Assert.Equal(RejectionCodes.DuplicateUpdateId, Assert.Single(refused.Rejections).Code);
    }

    [Fact]
    public async Task A_batch_is_atomic_and_preconditions_are_checked_in_order()
    {
        var (parent, anchor) = await NewAnchorAsync();
        await anchor.SubmitAsync([SignedUpdates.Create(parent, "nodes/a", new JsonObject())]);
        var head = await anchor.GetHeadAsync();

        var result = await anchor.SubmitAsync([
            SignedUpdates.Create(parent, "nodes/b", new JsonObject()),
            SignedUpdates.Create(parent, "nodes/a", new JsonObject()),
            SignedUpdates.Create(parent, "nodes/c", new JsonObject(), UpdateOperation.Update),
            SignedUpdates.Create(parent, "nodes/d", null, UpdateOperation.Delete),
        ]);
        Assert.Equal(SubmitOutcome.Rejected, result.Outcome);
        Assert.Empty(result.Receipts);
        Assert.Equal(
            [(1, RejectionCodes.AlreadyExists), (2, RejectionCodes.NotFound), (3, RejectionCodes.NotFound)],
            result.Rejections.Select(r => (r.Index, r.Code)));
        Assert.Equal(head, await anchor.GetHeadAsync());
        Assert.Null(await anchor.GetDocumentAsync("nodes/b"));

        // Within a batch, later updates see earlier ones.
        var chained = await anchor.SubmitAsync([
            SignedUpdates.Create(parent, "nodes/b", new JsonObject()),
            SignedUpdates.Create(parent, "nodes/b", new JsonObject { ["v"] = 2 }, UpdateOperation.Update),
            SignedUpdates.Create(parent, "nodes/b", null, UpdateOperation.Delete),
        ]);
        Assert.Equal(SubmitOutcome.Committed, chained.Outcome);
        Assert.Null(await anchor.GetDocumentAsync("nodes/b"));
        Assert.Equal(head.Root, (await anchor.GetHeadAsync()).Root); // back to the same set of documents
    }

    [Fact]
    public async Task A_stale_baseSeq_is_a_conflict()
    {
        var (parent, anchor) = await NewAnchorAsync();
        await anchor.SubmitAsync([SignedUpdates.Create(parent, "socialGraph/follows", new JsonArray())]);
        await anchor.SubmitAsync([SignedUpdates.Create(parent, "socialGraph/follows", new JsonArray("x"), UpdateOperation.Update, baseSeq: 1)]);

        var stale = await anchor.SubmitAsync([SignedUpdates.Create(parent, "socialGraph/follows", new JsonArray("y"), UpdateOperation.Update, baseSeq: 1)]);
        Assert.Equal(SubmitOutcome.Conflict, stale.Outcome);
        Assert.Equal(RejectionCodes.Conflict, Assert.Single(stale.Rejections).Code);

        var current = await anchor.SubmitAsync([SignedUpdates.Create(parent, "socialGraph/follows", new JsonArray("y"), UpdateOperation.Update, baseSeq: 2)]);
        Assert.Equal(SubmitOutcome.Committed, current.Outcome);
    }

    [Fact]
    public async Task Bad_input_is_refused_with_the_update_and_the_reason()
    {
        var (parent, anchor) = await NewAnchorAsync();
        using var stranger = SigningKey.Generate();
        var now = DateTimeOffset.UtcNow;

        var forged = SignedUpdates.CreateJson(parent, "nodes/x", new JsonObject { ["v"] = 1 });
        forged["data"] = new JsonObject { ["v"] = 2 }; // v1 still verifies; v2 does not
        var replayed = SignedUpdates.CreateJson(parent, "nodes/y", new JsonObject());
        replayed["path"] = "nodes/z";
        var unknownMember = SignedUpdates.CreateJson(parent, "nodes/u", new JsonObject());
        unknownMember["extra"] = 1;

        var cases = new (string Json, string Code)[]
        {
            (JavaScriptJson.Stringify(forged), RejectionCodes.InvalidSignature),
            (JavaScriptJson.Stringify(replayed), RejectionCodes.InvalidSignature),
            (SignedUpdates.Create(stranger, "nodes/s", new JsonObject()), RejectionCodes.UnknownAuthor),
            (SignedUpdates.Create(parent, "nodes/big", new JsonObject { ["b"] = new string('x', 300 * 1024) }), RejectionCodes.TooLarge),
            (SignedUpdates.Create(parent, "nodes/../etc", new JsonObject()), RejectionCodes.InvalidPath),
            (SignedUpdates.Create(parent, "nodes/a b", new JsonObject()), RejectionCodes.InvalidPath),
            (SignedUpdates.Create(parent, "identity/did", new JsonObject()), RejectionCodes.InvalidPath),
            (SignedUpdates.Create(parent, "nodes/future", new JsonObject(), timestamp: now.AddMinutes(6).ToUnixTimeMilliseconds()), RejectionCodes.TimestampInFuture),
            (SignedUpdates.Create(parent, "nodes/old", new JsonObject(), timestamp: now.AddDays(-8).ToUnixTimeMilliseconds()), RejectionCodes.TimestampExpired),
            ("{\"updateId\":", RejectionCodes.InvalidJson),
            ("{\"a\":1,\"a\":2}", RejectionCodes.InvalidJson),
            (JavaScriptJson.Stringify(unknownMember), RejectionCodes.InvalidShape),
        };

        foreach (var (json, code) in cases)
        {
            var result = await anchor.SubmitAsync([SignedUpdates.Create(parent, "nodes/ok-" + Guid.NewGuid().ToString("N"), new JsonObject()), json]);
            Assert.NotEqual(SubmitOutcome.Committed, result.Outcome);
            var rejection = Assert.Single(result.Rejections);
            Assert.Equal((1, code), (rejection.Index, rejection.Code));
        }

        // A type that does not match the path's category.
        var mismatched = SignedUpdates.CreateJson(parent, "nodes/t", new JsonObject());
        mismatched["type"] = "app";
        SignatureV1.SignInPlace(parent, SignedKind.StateUpdate, mismatched);
        SignatureV2.SignInPlace(parent, SignedKind.StateUpdate, mismatched);
        Assert.Equal(RejectionCodes.InvalidPath, Assert.Single((await anchor.SubmitAsync([JavaScriptJson.Stringify(mismatched)])).Rejections).Code);

        Assert.Equal(0, (await anchor.GetHeadAsync()).Seq);
    }

    [Fact]
    public async Task Clones_write_only_while_granted()
    {
        var (parent, anchor) = await NewAnchorAsync();
        using var clone = SigningKey.Generate();
        var cloneId = "clone-" + Guid.NewGuid().ToString("N");
        var update = SignedUpdates.Create(clone, "memoryIndex/m/1", new JsonObject(), cloneId: cloneId);

        Assert.Equal(SubmitOutcome.Forbidden, (await anchor.SubmitAsync([update])).Outcome);

        await anchor.SetWriterAsync(new WriterGrant(cloneId, clone.Did.Value, CanWrite: true));
        Assert.Equal(SubmitOutcome.Committed, (await anchor.SubmitAsync([update])).Outcome);

        await anchor.SetWriterAsync(new WriterGrant(cloneId, clone.Did.Value, CanWrite: false));
        var revoked = await anchor.SubmitAsync([SignedUpdates.Create(clone, "memoryIndex/m/2", new JsonObject(), cloneId: cloneId)]);
        Assert.Equal(SubmitOutcome.Forbidden, revoked.Outcome);
        Assert.Equal(RejectionCodes.WriteForbidden, Assert.Single(revoked.Rejections).Code);

        // Another key cannot borrow the clone's id.
        using var impostor = SigningKey.Generate();
        await anchor.SetWriterAsync(new WriterGrant(cloneId, clone.Did.Value, CanWrite: true));
        var borrowed = await anchor.SubmitAsync([SignedUpdates.Create(impostor, "memoryIndex/m/3", new JsonObject(), cloneId: cloneId)]);
        Assert.Equal(RejectionCodes.UnknownAuthor, Assert.Single(borrowed.Rejections).Code);
    }

    [Fact]
    public async Task Commits_are_pushed_to_a_listener_whose_lease_holds()
    {
        var (parent, anchor) = await NewAnchorAsync();
        using var listener = PushedEvents.Create(fixture.Client);
        await listener.ListenAsync(anchor); // an anchor pushes only to listeners whose lease holds

        await anchor.SubmitAsync([SignedUpdates.Create(parent, "nodes/1", new JsonObject()), SignedUpdates.Create(parent, "nodes/2", new JsonObject())]);
        await anchor.SubmitAsync([SignedUpdates.Create(parent, "nodes/3", new JsonObject())]);
        await listener.WaitForSeqAsync(3);
        var received = listener.Batches;

        Assert.Equal([1L, 2, 3], received.SelectMany(b => b.Updates).Select(u => u.Seq!.Value).Order());
        Assert.All(received, b => Assert.True(SignatureV2.Verify(SignedKind.Commit, ProtocolModel.ToJsonObject(b.Commit), parent.PublicKey)));
    }

    [Fact]
    public async Task A_reactivated_anchor_rebuilds_its_head_and_tree_from_the_log()
    {
        var (parent, anchor) = await NewAnchorAsync();
        await anchor.SubmitAsync(Enumerable.Range(0, 20).Select(i => SignedUpdates.Create(parent, $"memoryIndex/n/{i}", new JsonObject { ["i"] = i })).ToList());
        var before = await anchor.GetHeadAsync();

        await fixture.Cluster.DeactivateAsync(anchor);

        var after = await anchor.GetHeadAsync();
        Assert.Equal(before, after);
        var next = await anchor.SubmitAsync([SignedUpdates.Create(parent, "memoryIndex/n/20", new JsonObject())]);
        Assert.Equal(21, Assert.Single(next.Receipts).Seq);
    }

    [Fact]
    public async Task An_anchor_without_a_parent_key_refuses_writes_and_keeps_its_key()
    {
        using var parent = SigningKey.Generate();
        var anchor = fixture.Client.GetGrain<IAnchorStateGrain>(parent.Did.Value);
        await Assert.ThrowsAsync<Vivim.ExitNodes.NotHostedException>(() => anchor.SubmitAsync([SignedUpdates.Create(parent, "nodes/a", new JsonObject())]));

        await anchor.InitializeAsync(new AnchorSetup(SignedUpdates.TestVault.Seal(parent.ExportSeed(), parent.Did.Value)));
        await anchor.InitializeAsync(new AnchorSetup(SignedUpdates.TestVault.Seal(parent.ExportSeed(), parent.Did.Value)));
        using var other = SigningKey.Generate();
        await Assert.ThrowsAnyAsync<Exception>(() => anchor.InitializeAsync(new AnchorSetup(SignedUpdates.TestVault.Seal(other.ExportSeed(), parent.Did.Value))));
        Assert.Equal(SubmitOutcome.Committed, (await anchor.SubmitAsync([SignedUpdates.Create(parent, "nodes/a", new JsonObject())])).Outcome);
    }
    [Fact]
    public async Task The_bytes_of_state_quota_refuses_growth_atomically_but_lets_the_state_shrink()
    {
        using var parent = SigningKey.Generate();
        var anchor = fixture.Client.GetGrain<IAnchorStateGrain>(parent.Did.Value);
        var sealedKey = SignedUpdates.TestVault.Seal(parent.ExportSeed(), parent.Did.Value);
        await anchor.InitializeAsync(new AnchorSetup(sealedKey, MaxStateBytes: 100));
        static JsonObject Doc(int chars) => new() { ["t"] = new string('é', chars) }; // 2 UTF-8 bytes per char

        // {"t":"…"} is 8 bytes plus 2 per char: 48 + 38 = 86 bytes fit.
        Assert.Equal(SubmitOutcome.Committed, (await anchor.SubmitAsync([SignedUpdates.Create(parent, "nodes/a", Doc(20)), SignedUpdates.Create(parent, "nodes/b", Doc(15))])).Outcome);
        var head = await anchor.GetHeadAsync();
        Assert.Equal(86, head.StateBytes);

        // 86 + 10 - 38 + 58 = 116 > 100: the whole batch is refused, every update named, nothing changes.
        var refused = await anchor.SubmitAsync([SignedUpdates.Create(parent, "nodes/c", Doc(1)), SignedUpdates.Create(parent, "nodes/b", Doc(25), UpdateOperation.Update)]);
        Assert.Equal(SubmitOutcome.QuotaExceeded, refused.Outcome);
        Assert.Equal([0, 1], refused.Rejections.Select(r => r.Index));
        Assert.All(refused.Rejections, r => Assert.Equal(RejectionCodes.QuotaExceeded, r.Code));
        Assert.Equal(head, await anchor.GetHeadAsync());

        // Replacing a document with a smaller one, or deleting, always passes; then there is room again.
        Assert.Equal(SubmitOutcome.Committed, (await anchor.SubmitAsync([SignedUpdates.Create(parent, "nodes/a", Doc(5), UpdateOperation.Update)])).Outcome);
        Assert.Equal(18 + 38, (await anchor.GetHeadAsync()).StateBytes);
        Assert.Equal(SubmitOutcome.Committed, (await anchor.SubmitAsync([SignedUpdates.Create(parent, "nodes/b", null, UpdateOperation.Delete), SignedUpdates.Create(parent, "nodes/c", Doc(37))])).Outcome);
        Assert.Equal(18 + 82, (await anchor.GetHeadAsync()).StateBytes); // exactly the quota

        // A lower quota set later holds the state where it is: growth refused, shrinking allowed.
        await anchor.InitializeAsync(new AnchorSetup(sealedKey, MaxStateBytes: 50));
        Assert.Equal(SubmitOutcome.QuotaExceeded, (await anchor.SubmitAsync([SignedUpdates.Create(parent, "nodes/d", new JsonObject())])).Outcome);
        Assert.Equal(SubmitOutcome.Committed, (await anchor.SubmitAsync([SignedUpdates.Create(parent, "nodes/c", null, UpdateOperation.Delete)])).Outcome);
        Assert.Equal(18, (await anchor.GetHeadAsync()).StateBytes);

        // The count is rebuilt from the log on reactivation.
        await fixture.Cluster.DeactivateAsync(anchor);
        Assert.Equal(18, (await anchor.GetHeadAsync()).StateBytes);
        Assert.Equal(SubmitOutcome.Committed, (await anchor.SubmitAsync([SignedUpdates.Create(parent, "nodes/d", Doc(12))])).Outcome);
        Assert.Equal(18 + 32, (await anchor.GetHeadAsync()).StateBytes);
    }
}
