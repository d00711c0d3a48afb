using System.Text.Json.Nodes;
using Vivim.Client.Sync;
using Vivim.Client.Transports;
using Vivim.Clones;
using Vivim.ExitNodes;
using Vivim.Feeds;
using Vivim.Keys;
using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Protocol.Sync;
using Vivim.Tests.Support;

namespace Vivim.Tests.Client;

/// <summary>
/// The Orleans transport on the shared cluster with the real exit node, clone and anchor grains: register, take the
/// registration's snapshot, catch up, follow live commits, write back, and stop when suspended.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class OrleansTransportEndToEndClientTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_registered_clone_syncs_live_writes_back_and_stops_when_suspended()
    {
        using var parent = SigningKey.Generate();
        var node = fixture.Client.GetGrain<IExitNodeGrain>(parent.Did.Value);
        await node.CreateAsync(new ExitNodeSetup(new SecretSeed(parent.ExportSeed()), "tenant-client", DefaultPermissions: [Permissions.Read, Permissions.Write]));
        await node.WriteAsOwnerAsync(
        [
            new OwnerUpdate(UpdateType.Identity, UpdateOperation.Create, "identity/profile", new RawJson("""{"name":"Ada"}""")),
            new OwnerUpdate(UpdateType.Node, UpdateOperation.Create, "nodes/laptop", new RawJson("""{"os":"linux"}""")),
        ]);

        // The SDK's registration, answering the challenge.
        using var cloneKey = SigningKey.Generate();
        var nonce = Guid.NewGuid().ToString();
        var challenge = await node.IssueChallengeAsync(cloneKey.Did.Value, nonce);
        var proof = SignatureV1.Sign(cloneKey, new JsonObject { ["challenge"] = challenge.Challenge, ["nonce"] = nonce }, SignatureV1.IdentityProofFields);
        var response = await node.RegisterAsync(new CloneRegistrationRequest(
            cloneKey.Did.Value, ["memory"], PreferredNetwork.Local, proof, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), nonce, ChallengeResponse: challenge.Challenge));
        Assert.True(response.Approved, response.DenialReason);

        var transport = new OrleansSyncTransport(fixture.Client, response.CloneId);
        await using var protocol = new SyncProtocol(
            parent.Did.Value,
            new SyncConfig(SyncInterval: 3_600_000),
            transport,
            new SyncOptions { VerifyAuthorSignatures = true, ReconcileInterval = TimeSpan.FromHours(1) }); // live only through the stream
        var log = new EventLog(protocol);
        await protocol.LoadSnapshotAsync(response.InitialState!);
        await protocol.StartAsync();

        var info = await node.GetInfoAsync();
        Assert.Equal((info.HeadSeq, info.Root), (protocol.Replica.Cursor, protocol.Replica.Root));
        var clone = fixture.Client.GetGrain<ICloneGrain>(response.CloneId);
        Assert.True((await clone.GetStatusAsync()).Status.Connected);

        // Live: owner writes arrive through the DID's stream and are acknowledged to the clone grain.
        await node.WriteAsOwnerAsync([new OwnerUpdate(UpdateType.Memory, UpdateOperation.Create, "memoryIndex/notes/1", new RawJson("""{"text":"hi"}"""))]);
        await node.WriteAsOwnerAsync([new OwnerUpdate(UpdateType.Node, UpdateOperation.Delete, "nodes/laptop", RawJson.Null)]);
        info = await node.GetInfoAsync();
        await WaitUntilAsync(() => protocol.Replica.Cursor == info.HeadSeq, log);
        Assert.Equal(info.Root, protocol.Replica.Root);
        Assert.False(protocol.Replica.TryGetDocument("nodes/laptop", out _));
        await WaitUntilAsync(async () => (await clone.GetStatusAsync()).Cursor == info.HeadSeq, log);
        var status = await clone.GetStatusAsync();
        Assert.Equal(protocol.Replica.Root, status.Status.StateHash);
        Assert.Equal(0, status.Status.PendingUpdates);

        // Writes from the clone, signed with its key, come back verified.
        var writer = new CloneWriter(transport, cloneKey, response.CloneId);
        var written = await writer.SubmitAsync(UpdateType.Memory, UpdateOperation.Create, "memoryIndex/from-clone", new RawJson("""{"by":"clone"}"""));
        Assert.Equal(SubmitOutcome.Committed, written.Outcome);
        await WaitUntilAsync(() => protocol.Replica.Cursor == written.Receipts[0].Seq, log);
        Assert.Equal(written.Receipts[0].Root, protocol.Replica.Root);
        Assert.DoesNotContain(SyncEventNames.SyncFailed, log.Names);

        // Suspension: the stream's CloneAccessRevoked ends the session with an error, and reads are refused from now on.
        await node.SuspendCloneAsync(response.CloneId, "test suspension");
        var error = await log.WaitForAsync<SyncErrorEventArgs>(e => e.Error is CloneRevokedException);
        Assert.Contains("test suspension", error.Error.Message, StringComparison.Ordinal);
        await WaitUntilAsync(() => !protocol.IsRunning, log);
        Assert.False(protocol.GetStatus().Connected);
        await Assert.ThrowsAsync<CloneRevokedException>(() => transport.GetUpdatesAsync(0, 10, CancellationToken.None));
    }

    private static Task WaitUntilAsync(Func<bool> condition, EventLog log) => WaitUntilAsync(() => Task.FromResult(condition()), log);

    private static Task WaitUntilAsync(Func<Task<bool>> condition, EventLog log) => Until.TrueAsync(condition, () => $"events: {string.Join(", ", log.Names)}");
}
