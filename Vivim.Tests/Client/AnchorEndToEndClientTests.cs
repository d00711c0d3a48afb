using System.Text.Json.Nodes;
using Vivim.Anchors;
using Vivim.Client.Sync;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;
using Vivim.Tests.Support;

namespace Vivim.Tests.Client;

/// <summary>The client against the real anchor grain on the shared test cluster: snapshot, catch-up, live stream, writes.</summary>
[Collection(ClusterCollection.Name)]
public sealed class AnchorEndToEndClientTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_clone_verifies_and_follows_the_real_anchor()
    {
        using var parent = SigningKey.Generate();
        var anchor = fixture.Client.GetGrain<IAnchorStateGrain>(parent.Did.Value);
        await anchor.InitializeAsync(new AnchorSetup(SignedUpdates.TestVault.Seal(parent.ExportSeed(), parent.Did.Value)));
        var first = await anchor.SubmitAsync(
        [
            SignedUpdates.Create(parent, "identity/profile", new JsonObject { ["name"] = "Ada" }),
            SignedUpdates.Create(parent, "identity/avatar", new JsonObject { ["cid"] = "bafy" }),
            SignedUpdates.Create(parent, "nodes/laptop", new JsonObject { ["os"] = "linux" }),
            SignedUpdates.Create(parent, "memoryIndex/notes/1", new JsonObject { ["text"] = "Grüße 😀", ["n"] = 1e21 }),
        ]);
        Assert.Equal(SubmitOutcome.Committed, first.Outcome);

        var transport = new AnchorGrainTransport(fixture.Client, parent.Did.Value);
        await using var protocol = new SyncProtocol(
            parent.Did.Value,
            new SyncConfig(SyncInterval: 3_600_000, MaxBatchSize: 3),
            transport,
            new SyncOptions { VerifyAuthorSignatures = true, ReconcileInterval = TimeSpan.FromSeconds(2) });
        var log = new EventLog(protocol);

        // The snapshot (identity documents inside state.identity) reproduces the anchor's v2 root.
        await protocol.StartAsync();
        var head = await anchor.GetHeadAsync();
        Assert.Equal((head.Seq, head.Root), (protocol.Replica.Cursor, protocol.Replica.Root));
        Assert.True(protocol.Replica.TryGetDocument("identity/avatar", out _));

        // Live: commits arrive on the stream, in several batches, including an update and a delete.
        log.Clear();
        await anchor.SubmitAsync([SignedUpdates.Create(parent, "apps/chat", new JsonObject { ["enabled"] = true })]);
        await anchor.SubmitAsync(
        [
            SignedUpdates.Create(parent, "nodes/laptop", new JsonObject { ["os"] = "bsd" }, UpdateOperation.Update),
            SignedUpdates.Create(parent, "identity/avatar", null, UpdateOperation.Delete),
        ]);
        head = await anchor.GetHeadAsync();
        await WaitUntilAsync(() => protocol.Replica.Cursor == head.Seq, log);
        Assert.Equal(head.Root, protocol.Replica.Root);
        Assert.False(protocol.Replica.TryGetDocument("identity/avatar", out _));
        Assert.True(protocol.Replica.TryGetDocument("nodes/laptop", out var laptop));
        Assert.Equal("""{"os":"bsd"}""", laptop.Text);
        Assert.DoesNotContain(SyncEventNames.SyncFailed, log.Names);

        // A clone's writes: signed by the writer, committed by the anchor, verified on the way back.
        using var cloneKey = SigningKey.Generate();
        await anchor.SetWriterAsync(new WriterGrant("clone-e2e", cloneKey.Did.Value, CanWrite: true));
        var writer = new CloneWriter(transport, cloneKey, "clone-e2e");
        var written = await writer.SubmitAsync(UpdateType.Memory, UpdateOperation.Create, "memoryIndex/from-clone", new RawJson("""{"by":"clone"}"""));
        Assert.Equal(SubmitOutcome.Committed, written.Outcome);
        await WaitUntilAsync(() => protocol.Replica.Cursor == written.Receipts[0].Seq, log);
        Assert.Equal(written.Receipts[0].Root, protocol.Replica.Root);
        Assert.Equal(protocol.Replica.Cursor, transport.Acks[^1]);
        Assert.Equal(0, protocol.GetStatus().PendingUpdates);

        // Anything that reached the replica came through the checks; a fresh clone agrees from scratch.
        await using var fresh = new SyncProtocol(parent.Did.Value, new SyncConfig(AutoSync: false, MaxBatchSize: 2), transport);
        await fresh.SyncNowAsync();
        Assert.Equal(protocol.Replica.Root, fresh.Replica.Root);
        Assert.Equal(protocol.Replica.GetDocuments().OrderBy(d => d.Key), fresh.Replica.GetDocuments().OrderBy(d => d.Key));
    }

    private static Task WaitUntilAsync(Func<bool> condition, EventLog log) => Until.TrueAsync(condition, () => $"events: {string.Join(", ", log.Names)}");
}
