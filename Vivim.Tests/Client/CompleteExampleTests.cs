using System.Text;
using System.Text.Json.Nodes;
using Vivim.Client.Sync;
using Vivim.Client.Transports;
using Vivim.ExitNodes;
using Vivim.Keys;
using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Protocol.State;
using Vivim.Tests.Support;

namespace Vivim.Tests.Client;

/// <summary>The "Complete Example" of the protocol document the product comes from, end to end on the cluster.</summary>
[Collection(ClusterCollection.Name)]
public sealed class CompleteExampleTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Parent_advertises_clone_registers_with_a_challenge_verifies_as_SDK_1_syncs_and_sees_events_in_order()
    {
        // Parent: an exit node advertising storage, memory, identity and content, at most 50 clones, verification on.
        using var parent = SigningKey.Generate();
        var exitNode = fixture.Client.GetGrain<IExitNodeGrain>(parent.Did.Value);
        var advertisement = await exitNode.CreateAsync(new ExitNodeSetup(
            new SecretSeed(parent.ExportSeed()),
            "tenant-example",
            Capabilities: ["storage", "memory", "identity", "content"],
            Policy: new ExitNodePolicy(MaxClones: 50, AllowMigration: true, RequireVerification: true)));
        Assert.Equal(["storage", "memory", "identity", "content"], advertisement.Capabilities);
        Assert.True(SignatureV2.Verify(SignedKind.ExitNodeAdvertisement, ProtocolModel.ToJsonObject(advertisement), DidKey.Parse(advertisement.Did).PublicKey));
        await exitNode.WriteAsOwnerAsync([new OwnerUpdate(UpdateType.Identity, UpdateOperation.Create, "identity/profile", new RawJson("""{"name":"Ada"}"""))]);

        // Clone: asks, is challenged, proves its identity (v1 signature of {challenge, nonce}), is approved.
        using var clone = SigningKey.Generate();
        var nonce = Guid.NewGuid().ToString();
        var request = new CloneRegistrationRequest(clone.Did.Value, ["memory"], PreferredNetwork.Mainnet, string.Empty, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), nonce);
        var challenged = await exitNode.RegisterAsync(request);
        Assert.False(challenged.Approved);
        Assert.Equal("Challenge required", challenged.DenialReason);
        Assert.Equal(string.Empty, challenged.CloneId);
        var challenge = challenged.Challenge!.Challenge;
        var identityProof = SignatureV1.Sign(clone, new JsonObject { ["challenge"] = challenge, ["nonce"] = nonce }, SignatureV1.IdentityProofFields);
        var approved = await exitNode.RegisterAsync(request with { ChallengeResponse = challenge, IdentityProof = identityProof });
        Assert.True(approved.Approved, approved.DenialReason);
        Assert.Equal(TrustLevel.Secondary, approved.TrustProof!.Payload.TrustLevel);

        // Exactly what SDK 1.x does with the JSON it receives: the v1 signature over {merkleRoot, snapshotId} with the
        // parent's did:key, and the hash of JSON.stringify(state) against merkleRoot.
        var wire = ProtocolJson.ParseObject(Encoding.UTF8.GetBytes(ProtocolModel.ToJson(approved)));
        var initialState = wire["initialState"]!.AsObject();
        Assert.True(SignatureV1.Verify(SignedKind.StateSnapshot, initialState, DidKey.ResolvePublicKey(parent.Did.Value)));
        Assert.Equal(initialState["merkleRoot"]!.GetValue<string>(), SnapshotRootV1.Compute(initialState["state"]!));
        Assert.True(SignatureV1.Verify(SignedKind.TrustProof, wire["trustProof"]!.AsObject(), parent.PublicKey));

        // Sync with the example's configuration; events come in the SDK's order.
        await using var sync = new SyncProtocol(
            parent.Did.Value,
            new SyncConfig(AutoSync: true, SyncInterval: 30000, MaxBatchSize: 50, Compression: true),
            new OrleansSyncTransport(fixture.Client, approved.CloneId));
        var events = new EventLog(sync);
        await sync.LoadSnapshotAsync(approved.InitialState!);
        await sync.StartAsync();

        await exitNode.WriteAsOwnerAsync(
        [
            new OwnerUpdate(UpdateType.Memory, UpdateOperation.Create, "memoryIndex/notes/1", new RawJson("""{"text":"hello"}""")),
            new OwnerUpdate(UpdateType.Content, UpdateOperation.Create, "contentManifest/posts/1", new RawJson("""{"cid":"bafy"}""")),
        ]);
        var head = await exitNode.GetInfoAsync();
        await Until.TrueAsync(() => sync.Replica.Cursor >= head.HeadSeq, () => $"not synced; events: {string.Join(", ", events.Names)}");

        Assert.Equal(head.Root, sync.Replica.Root);
        var names = events.Names.Where(n => n is not SyncEventNames.StatusChanged).ToList();
        var first = names.IndexOf(SyncEventNames.UpdateReceived);
        Assert.True(first >= 0, string.Join(", ", names));
        Assert.Equal(
            [SyncEventNames.UpdateReceived, SyncEventNames.UpdateApplied, SyncEventNames.UpdateReceived, SyncEventNames.UpdateApplied],
            names.Skip(first).Where(n => n is SyncEventNames.UpdateReceived or SyncEventNames.UpdateApplied).Take(4));
        Assert.Contains(SyncEventNames.SyncStarted, names.Take(first));
        Assert.DoesNotContain(SyncEventNames.SyncFailed, names);
        Assert.All(events.All<UpdateAppliedEventArgs>(), e => Assert.True(e.Success));
        Assert.True(sync.GetStatus().Connected);
    }
}
