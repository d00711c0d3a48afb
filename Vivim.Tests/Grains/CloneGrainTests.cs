using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Vivim.Anchors;
using Vivim.Clones;
using Vivim.ExitNodes;
using Vivim.Gateway.Sync;
using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Protocol.Sync;
using Vivim.Tests.Support;
using static Vivim.Tests.Gateway.SessionOutput;
using static Vivim.Tests.Grains.ExitNodeTestKit;

namespace Vivim.Tests.Grains;

[Collection(ClusterCollection.Name)]
public sealed class CloneGrainTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Client;

    [Fact]
    public async Task Suspension_cuts_reads_writes_and_sessions_at_once_and_reinstatement_restores_them()
    {
        var (key, node, _) = await CreateNodeAsync(Grains, defaultPermissions: ["read", "write"]);
        using var clone = SigningKey.Generate();
        var cloneId = await RegisterApprovedAsync(node, clone);
        var grain = Grains.GetGrain<ICloneGrain>(cloneId);
        await grain.AttachSessionAsync("session-1", null);
        Assert.Equal(SubmitOutcome.Committed, (await grain.SubmitAsync([SignedUpdate(clone, cloneId, "memoryIndex/1", JsonValue.Create(1))])).Outcome);
        var revoked = await ListenForRevocationAsync(fixture.Client, key.Did.Value);

        var proof = await node.SuspendCloneAsync(cloneId, "abuse");

        await Assert.ThrowsAsync<CloneAccessDeniedException>(() => grain.GetUpdatesAsync(0, 10));
        await Assert.ThrowsAsync<CloneAccessDeniedException>(() => grain.GetSnapshotAsync());
        await Assert.ThrowsAsync<CloneAccessDeniedException>(() => grain.SubmitAsync([SignedUpdate(clone, cloneId, "memoryIndex/2", JsonValue.Create(2))]));
        await Assert.ThrowsAsync<CloneAccessDeniedException>(() => grain.AttachSessionAsync("session-2", null));
        // The anchor refuses the suspended clone's writes on its own too.
        var direct = await Grains.GetGrain<IAnchorStateGrain>(key.Did.Value).SubmitAsync([SignedUpdate(clone, cloneId, "memoryIndex/3", JsonValue.Create(3))]);
        Assert.NotEqual(SubmitOutcome.Committed, direct.Outcome);

        var status = await grain.GetStatusAsync();
        Assert.False(status.Status.Connected);
        Assert.Equal(TrustLevel.Suspended, status.TrustLevel);

        var json = ProtocolModel.ToJsonObject(proof);
        Assert.True(SignatureV1.Verify(SignedKind.TrustProof, json, key.PublicKey));
        Assert.True(SignatureV2.Verify(SignedKind.TrustProof, json, key.PublicKey));
        Assert.Equal(TrustLevel.Suspended, proof.Payload.TrustLevel);
        Assert.Equal("abuse", proof.Payload.Reason);
        Assert.Equal(clone.Did.Value, proof.Target);
        Assert.Equal(cloneId, (await revoked.WaitAsync(Until.Patience)).CloneId);

        var reinstated = await node.ReinstateCloneAsync(cloneId, "appeal upheld");
        Assert.Equal(TrustLevel.Secondary, reinstated.Payload.TrustLevel);
        Assert.True(SignatureV2.Verify(SignedKind.TrustProof, ProtocolModel.ToJsonObject(reinstated), key.PublicKey));
        await grain.GetSnapshotAsync();
        await grain.GetUpdatesAsync(0, 10);
        await grain.AttachSessionAsync("session-3", null);
        Assert.Equal(SubmitOutcome.Committed, (await grain.SubmitAsync([SignedUpdate(clone, cloneId, "memoryIndex/4", JsonValue.Create(4))])).Outcome);
        await Assert.ThrowsAsync<InvalidOperationException>(() => node.ReinstateCloneAsync(cloneId, null));
    }

    [Fact]
    public async Task Writes_need_the_write_permission_and_trust_of_secondary_or_higher()
    {
        var (_, node, _) = await CreateNodeAsync(Grains);
        using var clone = SigningKey.Generate();
        var cloneId = await RegisterApprovedAsync(node, clone);
        var grain = Grains.GetGrain<ICloneGrain>(cloneId);
        string Update(string path) => SignedUpdate(clone, cloneId, path, JsonValue.Create(true));

        // Default permissions: read only.
        var readOnly = await grain.SubmitAsync([Update("memoryIndex/a")]);
        Assert.Equal(SubmitOutcome.Forbidden, readOnly.Outcome);
        Assert.Equal(RejectionCodes.WriteForbidden, Assert.Single(readOnly.Rejections).Code);

        var granted = await node.DelegateTrustAsync(cloneId, TrustLevel.Primary, ["write", "read", "write"]);
        Assert.Equal(["read", "write"], granted.Payload.Permissions);
        Assert.Equal(TrustLevel.Primary, (await grain.GetRegistrationAsync()).TrustLevel);
        Assert.Equal(SubmitOutcome.Committed, (await grain.SubmitAsync([Update("memoryIndex/b")])).Outcome);

        await node.DelegateTrustAsync(cloneId, TrustLevel.Unverified, ["read", "write"]);
        Assert.Equal(SubmitOutcome.Forbidden, (await grain.SubmitAsync([Update("memoryIndex/c")])).Outcome);
        await grain.GetSnapshotAsync(); // reads stay open

        await Assert.ThrowsAsync<ArgumentException>(() => node.DelegateTrustAsync(cloneId, TrustLevel.Primary, ["admin"]));
        await Assert.ThrowsAsync<ArgumentException>(() => node.DelegateTrustAsync(cloneId, TrustLevel.Genesis, ["read"]));
    }

    [Fact]
    public async Task Acknowledgements_move_the_cursor_never_past_the_head_and_survive_deactivation()
    {
        var (_, node, _) = await CreateNodeAsync(Grains);
        using var clone = SigningKey.Generate();
        var cloneId = await RegisterApprovedAsync(node, clone);
        var grain = Grains.GetGrain<ICloneGrain>(cloneId);
        var result = await node.WriteAsOwnerAsync(
        [
            new OwnerUpdate(UpdateType.Memory, UpdateOperation.Create, "memoryIndex/x", RawJson.From(JsonValue.Create(1))),
            new OwnerUpdate(UpdateType.Memory, UpdateOperation.Create, "memoryIndex/y", RawJson.From(JsonValue.Create(2))),
        ]);
        Assert.Equal(SubmitOutcome.Committed, result.Outcome);

        var before = await grain.GetStatusAsync();
        Assert.Equal(0, before.Cursor);
        Assert.Equal(2, before.HeadSeq);
        Assert.Equal(2, before.Status.PendingUpdates);
        Assert.Equal(0, before.Status.LastSyncAt);

        // An ack without a root (as HTTP and libp2p send it) behind the head: the status finds the root in the log; a
        // listing's progress does not look.
        await grain.AcknowledgeAsync(1, string.Empty);
        await grain.AcknowledgeAsync(0, "stale"); // never moves back
        Assert.Equal((1L, string.Empty), ((await grain.GetProgressAsync()).Cursor, (await grain.GetProgressAsync()).Status.StateHash));
        var after = await grain.GetStatusAsync();
        Assert.Equal(1, after.Cursor);
        Assert.Equal(1, after.Status.PendingUpdates);
        Assert.Equal(result.Receipts[0].Root, after.Status.StateHash);
        Assert.True(after.Status.LastSyncAt > 0);

        // An ack that reaches the head takes the head's root, whatever the clone claims.
        await grain.AcknowledgeAsync(99, "beyond");
        var atHead = await grain.GetStatusAsync();
        Assert.Equal((2L, result.Receipts[1].Root), (atHead.Cursor, atHead.Status.StateHash));

        // Written on deactivation (and by the flush timer), not per ack. Sessions are in memory, so a dropped
        // session shows the activation really went away.
        await grain.AttachSessionAsync("before-deactivation", null);
        await fixture.Cluster.DeactivateAsync(grain.GetGrainId());
        var reloaded = await grain.GetStatusAsync();
        Assert.False(reloaded.Status.Connected);
        Assert.Equal(2, reloaded.Cursor);
        Assert.Equal(0, reloaded.Status.PendingUpdates);
        Assert.Equal((await grain.AttachSessionAsync("s", null)).Cursor, reloaded.Cursor);
    }

    [Fact]
    public async Task A_session_grant_carries_the_cursor_config_and_in_flight_bound()
    {
        var (key, node, _) = await CreateNodeAsync(Grains);
        using var clone = SigningKey.Generate();
        var grain = Grains.GetGrain<ICloneGrain>(await RegisterApprovedAsync(node, clone));

        Assert.Equal(new SyncConfig(), await grain.GetConfigAsync());
        await grain.SetConfigAsync(new SyncConfig(MaxBatchSize: 50, Compression: true));
        await Assert.ThrowsAsync<ArgumentException>(() => grain.SetConfigAsync(new SyncConfig(MaxBatchSize: 0)));

        var grant = await grain.AttachSessionAsync("a", null);
        Assert.Equal(new SessionGrant(key.Did.Value, 0, new SyncConfig(MaxBatchSize: 50, Compression: true), 4), grant);
        await grain.AttachSessionAsync("b", null);
        await grain.DetachSessionAsync("a");
        Assert.True((await grain.GetStatusAsync()).Status.Connected);
        await grain.DetachSessionAsync("b");
        Assert.False((await grain.GetStatusAsync()).Status.Connected);
    }

    [Fact]
    public async Task A_clone_deregisters_itself_from_its_exit_node()
    {
        var (key, node, _) = await CreateNodeAsync(Grains, new ExitNodePolicy(MaxClones: 1), ["read", "write"]);
        using var clone = SigningKey.Generate();
        var cloneId = await RegisterApprovedAsync(node, clone);
        var grain = Grains.GetGrain<ICloneGrain>(cloneId);
        var revoked = await ListenForRevocationAsync(fixture.Client, key.Did.Value);

        await grain.DeregisterAsync();

        await Assert.ThrowsAsync<CloneAccessDeniedException>(() => grain.GetUpdatesAsync(0, 1));
        await Assert.ThrowsAsync<CloneAccessDeniedException>(() => grain.SubmitAsync([SignedUpdate(clone, cloneId, "memoryIndex/z", JsonValue.Create(0))]));
        var direct = await Grains.GetGrain<IAnchorStateGrain>(key.Did.Value).SubmitAsync([SignedUpdate(clone, cloneId, "memoryIndex/z", JsonValue.Create(0))]);
        Assert.NotEqual(SubmitOutcome.Committed, direct.Outcome);
        Assert.Empty((await node.ListClonesAsync(null, 10)).Items);
        Assert.Equal(cloneId, (await revoked.WaitAsync(Until.Patience)).CloneId);
        await grain.DeregisterAsync(); // idempotent

        // Its place is free again.
        using var next = SigningKey.Generate();
        Assert.True((await RegisterAsync(node, next)).Approved);
    }

    [Fact]
    public async Task Concurrent_trust_changes_and_deregistration_do_not_deadlock()
    {
        var (_, node, _) = await CreateNodeAsync(Grains);
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            using var clone = SigningKey.Generate();
            ids.Add(await RegisterApprovedAsync(node, clone));
        }

        // The exit node calls clone grains (suspend, list) while clone grains call the exit node (deregister).
        var work = ids.SelectMany(id => new Task[]
        {
            Grains.GetGrain<ICloneGrain>(id).DeregisterAsync(),
            node.SuspendCloneAsync(id, null).ContinueWith(_ => { }, TaskScheduler.Default),
            node.ListClonesAsync(null, 10),
        });
        await Task.WhenAll(work).WaitAsync(Until.Patience);
        Assert.Empty((await node.ListClonesAsync(null, 10)).Items);
    }

    [Fact]
    public async Task A_live_session_delivers_owner_writes_and_closes_when_the_clone_is_suspended()
    {
        var (_, node, _) = await CreateNodeAsync(Grains);
        using var clone = SigningKey.Generate();
        var cloneId = await RegisterApprovedAsync(node, clone);
        await using var hub = new SessionHub(fixture.Client, Options.Create(new SessionHubOptions()), NullLogger<SessionHub>.Instance);
        using var timeout = new CancellationTokenSource(Until.Patience);

        await using var session = await hub.OpenAsync(cloneId, cancellationToken: timeout.Token);
        await node.WriteAsOwnerAsync([new OwnerUpdate(UpdateType.Memory, UpdateOperation.Create, "memoryIndex/live", RawJson.From(JsonValue.Create(1)))]);
        var batch = await NextAsync<SessionBatch>(session, timeout.Token);
        Assert.Equal(1, batch.LastSeq);
        await session.AcknowledgeAsync(batch.LastSeq);
        Assert.True((await Grains.GetGrain<ICloneGrain>(cloneId).GetStatusAsync()).Status.Connected);

        await node.SuspendCloneAsync(cloneId, "test");
        await NextAsync<SessionClosed>(session, timeout.Token);
        await Assert.ThrowsAsync<CloneAccessDeniedException>(() => hub.OpenAsync(cloneId, cancellationToken: timeout.Token));
    }

    [Fact]
    public async Task An_unknown_clone_is_not_hosted()
    {
        var grain = Grains.GetGrain<ICloneGrain>("did:key:z6MkNone-0-unknown" + Guid.NewGuid().ToString("N"));
        await Assert.ThrowsAsync<NotHostedException>(() => grain.GetSnapshotAsync());
        await Assert.ThrowsAsync<NotHostedException>(() => grain.GetStatusAsync());
    }
}
