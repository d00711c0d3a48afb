using System.Text.Json.Nodes;
using Orleans.Runtime;
using Vivim.Anchors;
using Vivim.Clones;
using Vivim.ExitNodes;
using Vivim.Feeds;
using Vivim.Keys;
using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Protocol.State;
using Vivim.Protocol.Sync;
using Vivim.Tests.Support;
using static Vivim.Tests.Grains.ExitNodeTestKit;

namespace Vivim.Tests.Grains;

[Collection(ClusterCollection.Name)]
public sealed class ExitNodeGrainTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Client;

    [Fact]
    public async Task Create_signs_an_advertisement_with_every_field_and_a_signed_anchor_state()
    {
        var (key, _, advertisement) = await CreateNodeAsync(Grains);
        var json = ProtocolModel.ToJsonObject(advertisement);

        Assert.Equal(
            ["did", "peerId", "multiaddrs", "capabilities", "supportedCloneVersions", "trustLevel", "anchorState", "endpoints", "policy", "proof"],
            json.Select(p => p.Key));
        Assert.Equal(key.Did.Value, advertisement.Did);
        Assert.Equal(string.Empty, advertisement.PeerId);
        Assert.Empty(advertisement.Multiaddrs);
        Assert.Equal(["identity", "storage", "content", "social", "ai-chat", "memory"], advertisement.Capabilities);
        Assert.Equal(["1.0.0"], advertisement.SupportedCloneVersions);
        Assert.Equal(TrustLevel.Genesis, advertisement.TrustLevel);
        Assert.Equal(new ExitNodePolicy(100, true, true), advertisement.Policy);
        Assert.Equal("{\"clone\":\"/vivim/clone/1.0.0\",\"sync\":\"/vivim/sync/1.0.0\",\"relay\":\"\"}", json["endpoints"]!.ToJsonString());

        var anchorState = json["anchorState"]!.AsObject();
        Assert.Equal(
            ["did", "cloneId", "trustLevel", "merkleRoot", "stateCid", "timestamp", "version", "capabilities", "signature", "proof"],
            anchorState.Select(p => p.Key));
        Assert.True(SignatureV1.Verify(SignedKind.AnchorState, anchorState, DidKey.ResolvePublicKey(key.Did.Value)));
        Assert.True(SignatureV2.Verify(SignedKind.AnchorState, anchorState, key.PublicKey));
        Assert.True(SignatureV2.Verify(SignedKind.ExitNodeAdvertisement, json, DidKey.Parse(advertisement.Did).PublicKey));
        Assert.Equal(TrustLevel.Genesis, advertisement.AnchorState.TrustLevel);
        Assert.Equal("1.0.0", advertisement.AnchorState.Version);
        Assert.StartsWith("bafkrei", advertisement.AnchorState.StateCid, StringComparison.Ordinal); // CIDv1 raw sha2-256

        // merkleRoot is the v1 root of the anchor's snapshot.
        var snapshot = await Grains.GetGrain<IAnchorStateGrain>(key.Did.Value).GetSnapshotAsync();
        Assert.Equal(snapshot.MerkleRoot, advertisement.AnchorState.MerkleRoot);

        // A signature over the advertisement breaks when any field changes, the nested anchor state included.
        json["policy"]!["maxClones"] = 5;
        Assert.False(SignatureV2.Verify(SignedKind.ExitNodeAdvertisement, json, key.PublicKey));
    }

    [Fact]
    public async Task Create_refuses_a_second_create_and_a_seed_of_another_did()
    {
        var (key, node, first) = await CreateNodeAsync(Grains);
        await Assert.ThrowsAsync<ExitNodeConflictException>(() => node.CreateAsync(new ExitNodeSetup(new SecretSeed(key.ExportSeed()), "tenant-2")));
        Assert.Equal(ProtocolModel.ToJson(first), ProtocolModel.ToJson(await node.GetAdvertisementAsync()));

        using var other = SigningKey.Generate();
        var elsewhere = Grains.GetGrain<IExitNodeGrain>(other.Did.Value);
        await Assert.ThrowsAsync<ArgumentException>(() => elsewhere.CreateAsync(new ExitNodeSetup(new SecretSeed(key.ExportSeed()), "tenant")));
        await Assert.ThrowsAsync<NotHostedException>(() => elsewhere.GetAdvertisementAsync());
        await Assert.ThrowsAsync<NotHostedException>(() => elsewhere.GetInfoAsync());
    }

    [Fact]
    public async Task Update_advertisement_re_signs_with_the_new_policy()
    {
        var (key, node, _) = await CreateNodeAsync(Grains);
        var updated = await node.UpdateAdvertisementAsync(new AdvertisementChange(Policy: new ExitNodePolicy(3, false, true), Capabilities: ["memory"]));

        Assert.Equal(new ExitNodePolicy(3, false, true), updated.Policy);
        Assert.Equal(["memory"], updated.Capabilities);
        Assert.Equal(["memory"], updated.AnchorState.Capabilities);
        Assert.True(SignatureV2.Verify(SignedKind.ExitNodeAdvertisement, ProtocolModel.ToJsonObject(updated), key.PublicKey));
        Assert.Equal(ProtocolModel.ToJson(updated), ProtocolModel.ToJson(await node.GetAdvertisementAsync()));
    }

    [Fact]
    public async Task The_eleventh_request_in_a_minute_is_rate_limited()
    {
        var (_, node, _) = await CreateNodeAsync(Grains);
        using var clone = SigningKey.Generate();
        for (var i = 0; i < 10; i++)
        {
            var response = await node.RegisterAsync(Request(clone, NewNonce()));
            Assert.Equal(DenialReasons.ChallengeRequired, response.DenialReason);
        }

        var eleventh = await node.RegisterAsync(Request(clone, NewNonce()));
        Assert.False(eleventh.Approved);
        Assert.Equal(string.Empty, eleventh.CloneId);
        Assert.Equal(DenialReasons.RateLimitExceeded, eleventh.DenialReason);

        // Per DID: another clone is not affected.
        using var another = SigningKey.Generate();
        Assert.Equal(DenialReasons.ChallengeRequired, (await node.RegisterAsync(Request(another, NewNonce()))).DenialReason);
    }

    [Theory]
    [InlineData(301_000)]
    [InlineData(-301_000)]
    public async Task A_timestamp_more_than_five_minutes_off_is_invalid(long offset)
    {
        var (_, node, _) = await CreateNodeAsync(Grains);
        using var clone = SigningKey.Generate();

        var response = await node.RegisterAsync(Request(clone, NewNonce(), Now + offset));
        Assert.False(response.Approved);
        Assert.Equal(DenialReasons.InvalidTimestamp, response.DenialReason);

        var extreme = await node.RegisterAsync(Request(clone, NewNonce(), offset > 0 ? long.MaxValue : long.MinValue));
        Assert.Equal(DenialReasons.InvalidTimestamp, extreme.DenialReason);

        var within = await node.RegisterAsync(Request(clone, NewNonce(), Now + (offset > 0 ? 290_000 : -290_000)));
        Assert.Equal(DenialReasons.ChallengeRequired, within.DenialReason);
    }

    [Fact]
    public async Task Challenge_required_returns_a_challenge_and_leaves_the_nonce_unspent()
    {
        var (_, node, _) = await CreateNodeAsync(Grains);
        using var clone = SigningKey.Generate();
        var nonce = NewNonce();
        var before = Now;

        var response = await node.RegisterAsync(Request(clone, nonce));

        Assert.False(response.Approved);
        Assert.Equal(string.Empty, response.CloneId);
        Assert.Equal(DenialReasons.ChallengeRequired, response.DenialReason);
        Assert.NotNull(response.Challenge);
        Assert.Equal(nonce, response.Challenge.Nonce);
        Assert.True(Guid.TryParse(response.Challenge.Challenge, out _));
        Assert.InRange(response.Challenge.ExpiresAt, before + 29_000, Now + 30_000);
        Assert.Null(response.TrustProof);

        // The answer under the same nonce is accepted.
        var answered = await node.RegisterAsync(Request(clone, nonce) with
        {
            ChallengeResponse = response.Challenge.Challenge,
            IdentityProof = IdentityProof(clone, response.Challenge.Challenge, nonce),
        });
        Assert.True(answered.Approved, answered.DenialReason);
    }

    [Fact]
    public async Task A_nonce_is_spent_once_the_registration_concludes()
    {
        var (_, node, _) = await CreateNodeAsync(Grains);
        using var clone = SigningKey.Generate();
        var nonce = NewNonce();
        var challenge = (await node.RegisterAsync(Request(clone, nonce))).Challenge!.Challenge;
        var answer = Request(clone, nonce) with { ChallengeResponse = challenge, IdentityProof = IdentityProof(clone, challenge, nonce) };
        Assert.True((await node.RegisterAsync(answer)).Approved);

        var replay = await node.RegisterAsync(answer);
        Assert.False(replay.Approved);
        Assert.Equal(DenialReasons.NonceAlreadyUsed, replay.DenialReason);
        Assert.Equal(DenialReasons.NonceAlreadyUsed, (await node.RegisterAsync(Request(clone, nonce))).DenialReason);
        await Assert.ThrowsAsync<ArgumentException>(() => node.IssueChallengeAsync(clone.Did.Value, nonce));

        // A proof that does not verify spends nothing: the caller pays with a new round trip, the node stores nothing.
        var denied = NewNonce();
        var issued = await node.IssueChallengeAsync(clone.Did.Value, denied);
        var wrong = await node.RegisterAsync(Request(clone, denied) with { ChallengeResponse = Guid.NewGuid().ToString(), IdentityProof = IdentityProof(clone, issued.Challenge, denied) });
        Assert.Equal(DenialReasons.InvalidIdentityProof, wrong.DenialReason);
        Assert.Equal(DenialReasons.ChallengeRequired, (await node.RegisterAsync(Request(clone, denied))).DenialReason);

        // Spent nonces are durable: a new activation (which unseals the key again) still refuses them.
        await fixture.Cluster.DeactivateAsync(node.GetGrainId());
        Assert.Equal(DenialReasons.NonceAlreadyUsed, (await node.RegisterAsync(Request(clone, nonce))).DenialReason);
        using var next = SigningKey.Generate();
        Assert.True((await RegisterAsync(node, next)).Approved);
    }

    [Fact]
    public async Task A_wrong_challenge_or_a_proof_by_another_key_is_an_invalid_identity_proof()
    {
        var (_, node, _) = await CreateNodeAsync(Grains);
        using var clone = SigningKey.Generate();
        using var impostor = SigningKey.Generate();

        // Wrong challenge, correctly signed.
        var nonce = NewNonce();
        var issued = await node.IssueChallengeAsync(clone.Did.Value, nonce);
        var made = Guid.NewGuid().ToString();
        var wrong = await node.RegisterAsync(Request(clone, nonce) with { ChallengeResponse = made, IdentityProof = IdentityProof(clone, made, nonce) });
        Assert.False(wrong.Approved);
        Assert.Equal(DenialReasons.InvalidIdentityProof, wrong.DenialReason);

        // Right challenge, signed by another key.
        nonce = NewNonce();
        issued = await node.IssueChallengeAsync(clone.Did.Value, nonce);
        var forged = await node.RegisterAsync(Request(clone, nonce) with { ChallengeResponse = issued.Challenge, IdentityProof = IdentityProof(impostor, issued.Challenge, nonce) });
        Assert.Equal(DenialReasons.InvalidIdentityProof, forged.DenialReason);

        // Malformed proof and malformed DID deny the same way, never throw.
        nonce = NewNonce();
        issued = await node.IssueChallengeAsync(clone.Did.Value, nonce);
        var malformed = await node.RegisterAsync(Request(clone, nonce) with { ChallengeResponse = issued.Challenge, IdentityProof = "not hex" });
        Assert.Equal(DenialReasons.InvalidIdentityProof, malformed.DenialReason);

        nonce = NewNonce();
        var badDid = new CloneRegistrationRequest("did:key:nonsense", [], PreferredNetwork.Local, "00", Now, nonce);
        var challenge = (await node.RegisterAsync(badDid)).Challenge!.Challenge;
        Assert.Equal(DenialReasons.InvalidIdentityProof, (await node.RegisterAsync(badDid with { ChallengeResponse = challenge })).DenialReason);

        // A challenge issued to one DID cannot be answered by another, even with that one's own signature.
        nonce = NewNonce();
        issued = await node.IssueChallengeAsync(clone.Did.Value, nonce);
        var stolen = await node.RegisterAsync(Request(impostor, nonce) with { ChallengeResponse = issued.Challenge, IdentityProof = IdentityProof(impostor, issued.Challenge, nonce) });
        Assert.Equal(DenialReasons.InvalidIdentityProof, stolen.DenialReason);
    }

    [Fact]
    public async Task Registration_beyond_max_clones_is_refused_with_capacity_exceeded()
    {
        var (_, node, _) = await CreateNodeAsync(Grains, new ExitNodePolicy(MaxClones: 1));
        using var first = SigningKey.Generate();
        using var second = SigningKey.Generate();
        var cloneId = await RegisterApprovedAsync(node, first);

        var refused = await RegisterAsync(node, second);
        Assert.False(refused.Approved);
        Assert.Equal(string.Empty, refused.CloneId);
        Assert.Equal(DenialReasons.CapacityExceeded, refused.DenialReason);

        // Removing a clone frees its place.
        await node.RemoveCloneAsync(cloneId);
        Assert.True((await RegisterAsync(node, second)).Approved);
    }

    [Theory]
    [InlineData(MigrationType.Relay, false)]
    [InlineData(MigrationType.Fork, false)]
    [InlineData(MigrationType.Mirror, true)]
    [InlineData(null, true)]
    public async Task Without_migration_relay_and_fork_are_refused_and_mirrors_allowed(MigrationType? migration, bool approved)
    {
        var (_, node, _) = await CreateNodeAsync(Grains, new ExitNodePolicy(AllowMigration: false));
        using var clone = SigningKey.Generate();

        var response = await RegisterAsync(node, clone, migration);

        Assert.Equal(approved, response.Approved);
        Assert.Equal(approved ? null : DenialReasons.MigrationNotAllowed, response.DenialReason);
    }

    [Fact]
    public async Task Without_verification_no_challenge_is_needed()
    {
        var (_, node, _) = await CreateNodeAsync(Grains, new ExitNodePolicy(RequireVerification: false));
        using var clone = SigningKey.Generate();

        var response = await node.RegisterAsync(Request(clone, NewNonce()));
        Assert.True(response.Approved, response.DenialReason);
    }

    [Fact]
    public async Task Approval_returns_an_sdk_clone_id_a_signed_attestation_and_a_signed_initial_state()
    {
        var (key, node, _) = await CreateNodeAsync(Grains);
        using var clone = SigningKey.Generate();
        var before = Now;

        var response = await RegisterAsync(node, clone);

        Assert.True(response.Approved, response.DenialReason);
        Assert.Null(response.DenialReason);
        Assert.Matches("^" + System.Text.RegularExpressions.Regex.Escape(clone.Did.Value[..16]) + "-[0-9]{13}-[0-9a-z]{8}$", response.CloneId);
        var issuedAt = long.Parse(response.CloneId.Split('-')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(issuedAt, before, Now);
        Assert.Equal(new CloneEndpoints("/vivim/clone/1.0.0", "/vivim/sync/1.0.0"), response.Endpoints);

        var proof = ProtocolModel.ToJsonObject(response.TrustProof!);
        Assert.True(SignatureV1.Verify(SignedKind.TrustProof, proof, DidKey.ResolvePublicKey(key.Did.Value)));
        Assert.True(SignatureV2.Verify(SignedKind.TrustProof, proof, key.PublicKey));
        Assert.Equal(TrustProofType.Attestation, response.TrustProof!.Type);
        Assert.Equal(key.Did.Value, response.TrustProof.Issuer);
        Assert.Equal(clone.Did.Value, response.TrustProof.Target);
        Assert.Equal(
            new TrustProofPayload(TrustLevel.Secondary, key.Did.Value, string.Empty, MigrationType.Mirror),
            response.TrustProof.Payload with { Permissions = null });
        Assert.Equal(["read"], response.TrustProof.Payload.Permissions);
        // v2 covers the payload that v1 leaves unsigned.
        proof["payload"]!["trustLevel"] = "primary";
        Assert.True(SignatureV1.Verify(SignedKind.TrustProof, proof, key.PublicKey));
        Assert.False(SignatureV2.Verify(SignedKind.TrustProof, proof, key.PublicKey));

        // initialState checked exactly as SDK 1.x does it, and with v2.
        var snapshot = ProtocolModel.ToJsonObject(response.InitialState!);
        Assert.True(SignatureV1.Verify(SignedKind.StateSnapshot, snapshot, DidKey.ResolvePublicKey(key.Did.Value)));
        Assert.Equal(response.InitialState!.MerkleRoot, SnapshotRootV1.Compute(snapshot["state"]!));
        Assert.True(SignatureV2.Verify(SignedKind.StateSnapshot, snapshot, key.PublicKey));

        var registration = await Grains.GetGrain<ICloneGrain>(response.CloneId).GetRegistrationAsync();
        Assert.Equal(clone.Did.Value, registration.CloneDid);
        Assert.Equal(key.Did.Value, registration.ParentDid);
        Assert.Equal(TrustLevel.Secondary, registration.TrustLevel);
        Assert.Equal(response.InitialState.Seq ?? 0, registration.InitialSeq);
        Assert.Equal(1, (await node.GetInfoAsync()).CloneCount);
    }

    [Fact]
    public async Task A_fork_gets_a_signed_fork_point_reads_its_snapshot_once_and_does_not_sync()
    {
        var (key, node, _) = await CreateNodeAsync(Grains, defaultPermissions: ["read", "write"]);
        await node.WriteAsOwnerAsync([new OwnerUpdate(UpdateType.Memory, UpdateOperation.Create, "memoryIndex/a", RawJson.From(JsonValue.Create(1)))]);
        var head = await Grains.GetGrain<IAnchorStateGrain>(key.Did.Value).GetHeadAsync();
        using var clone = SigningKey.Generate();

        var response = await RegisterAsync(node, clone, MigrationType.Fork);

        Assert.True(response.Approved, response.DenialReason);
        var proof = response.TrustProof!;
        Assert.Equal(TrustProofType.Migration, proof.Type);
        Assert.Equal(MigrationType.Fork, proof.Payload.MigrationType);
        Assert.Equal(head.Seq, proof.Payload.ForkSeq);
        Assert.Equal(head.Root, proof.Payload.ForkRoot);
        Assert.Equal(["read"], proof.Payload.Permissions);
        Assert.True(SignatureV2.Verify(SignedKind.TrustProof, ProtocolModel.ToJsonObject(proof), key.PublicKey));

        var fork = Grains.GetGrain<ICloneGrain>(response.CloneId);
        var snapshot = await fork.GetSnapshotAsync();
        Assert.Equal(head.Seq, snapshot.Seq);
        await Assert.ThrowsAsync<CloneAccessDeniedException>(() => fork.GetSnapshotAsync());
        await Assert.ThrowsAsync<CloneAccessDeniedException>(() => fork.GetUpdatesAsync(0, 10));
        await Assert.ThrowsAsync<CloneAccessDeniedException>(() => fork.AttachSessionAsync("s", null));
        await Assert.ThrowsAsync<CloneAccessDeniedException>(() => fork.SubmitAsync([SignedUpdate(clone, response.CloneId, "memoryIndex/b", JsonValue.Create(2))]));
    }

    [Fact]
    public async Task Clones_are_listed_in_pages_in_clone_id_order()
    {
        var (_, node, _) = await CreateNodeAsync(Grains, new ExitNodePolicy(RequireVerification: false));
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            using var clone = SigningKey.Generate();
            var response = await node.RegisterAsync(Request(clone, NewNonce()));
            ids.Add(response.CloneId);
        }

        var listed = new List<CloneSummary>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await node.ListClonesAsync(cursor, 2);
            Assert.InRange(page.Items.Count, 1, 2);
            listed.AddRange(page.Items);
            cursor = page.NextCursor;
            pages++;
        }
        while (cursor is not null);

        Assert.Equal(3, pages);
        Assert.Equal(ids.Order(StringComparer.Ordinal), listed.Select(c => c.CloneId));
        Assert.All(listed, c =>
        {
            Assert.Equal(TrustLevel.Secondary, c.TrustLevel);
            Assert.Equal(["read"], c.Permissions);
            Assert.Equal(MigrationType.Mirror, c.MigrationType);
            Assert.False(c.Connected);
            Assert.Equal(0, c.LastSyncAt);
        });

        // A session and an ack show up in the listing.
        var first = Grains.GetGrain<ICloneGrain>(listed[0].CloneId);
        await first.AttachSessionAsync("session-1", null);
        await first.AcknowledgeAsync(0, string.Empty);
        var again = (await node.ListClonesAsync(null, 1)).Items.Single();
        Assert.True(again.Connected);
        Assert.True(again.LastSyncAt > 0);
    }

    [Fact]
    public async Task The_owner_removes_a_clone_and_its_access_ends_with_an_event()
    {
        var (key, node, _) = await CreateNodeAsync(Grains);
        using var clone = SigningKey.Generate();
        var cloneId = await RegisterApprovedAsync(node, clone);
        var revoked = await ListenForRevocationAsync(fixture.Client, key.Did.Value);

        await node.RemoveCloneAsync(cloneId);

        var grain = Grains.GetGrain<ICloneGrain>(cloneId);
        await Assert.ThrowsAsync<CloneAccessDeniedException>(() => grain.GetSnapshotAsync());
        await Assert.ThrowsAsync<CloneAccessDeniedException>(() => grain.AttachSessionAsync("s", null));
        Assert.Empty((await node.ListClonesAsync(null, 10)).Items);
        Assert.Equal(0, (await node.GetInfoAsync()).CloneCount);
        await Assert.ThrowsAsync<NotHostedException>(() => node.SuspendCloneAsync(cloneId, null));
        await node.RemoveCloneAsync(cloneId); // idempotent
        await Assert.ThrowsAsync<NotHostedException>(() => node.RemoveCloneAsync("no-such-clone"));

        var evt = await revoked.WaitAsync(Until.Patience);
        Assert.Equal(cloneId, evt.CloneId);
        Assert.Equal(key.Did.Value, evt.Did);
    }

    [Fact]
    public async Task Owner_writes_are_signed_by_the_node_and_committed_with_receipts()
    {
        var (key, node, _) = await CreateNodeAsync(Grains);

        var result = await node.WriteAsOwnerAsync(
        [
            new OwnerUpdate(UpdateType.Memory, UpdateOperation.Create, "memoryIndex/notes/1", RawJson.From(new JsonObject { ["title"] = "one" }), UpdateId: "owner-update-1"),
            new OwnerUpdate(UpdateType.Content, UpdateOperation.Create, "contentManifest/post", RawJson.From(JsonValue.Create("hello"))),
        ]);

        Assert.Equal(SubmitOutcome.Committed, result.Outcome);
        Assert.Empty(result.Rejections);
        Assert.Equal([1L, 2L], result.Receipts.Select(r => r.Seq));
        Assert.Equal("owner-update-1", result.Receipts[0].UpdateId);
        var info = await node.GetInfoAsync();
        Assert.Equal(2, info.HeadSeq);
        Assert.Equal(result.Receipts[1].Root, info.Root);

        var page = (await Grains.GetGrain<IAnchorStateGrain>(key.Did.Value).GetUpdatesAsync(0, 10)).Parse();
        var update = ProtocolModel.ToJsonObject(page.Updates[0]);
        Assert.Equal(key.Did.Value, page.Updates[0].SourceDid);
        Assert.Equal(string.Empty, page.Updates[0].SourceCloneId);
        Assert.True(SignatureV1.Verify(SignedKind.StateUpdate, update, key.PublicKey));
        Assert.True(SignatureV2.Verify(SignedKind.StateUpdate, update, key.PublicKey));
    }

    [Fact]
    public async Task A_challenge_expires_after_the_configured_timeout()
    {
        // A cluster of its own on a clock the test advances, so that the challenge is late exactly when the test says.
        var clock = SiloClock.StartNow();
        var timeout = TimeSpan.FromMilliseconds(300);
        var builder = new Orleans.TestingHost.InProcessTestClusterBuilder(1);
        var log = new Vivim.Storage.InMemoryUpdateLog();
        var state = new SharedMemoryGrainStorage();
        builder.ConfigureSilo((_, silo) =>
        {
            ClusterFixture.ConfigureSilo(silo, log, state);
            silo.UseClock(clock);
            Microsoft.Extensions.DependencyInjection.OptionsServiceCollectionExtensions.Configure<ExitNodeOptions>(
                silo.Services, o => o.ChallengeTimeout = timeout);
        });
        builder.ConfigureClient(client => Vivim.Security.OperatorCredentials.AddVivimOperatorCredentials(Orleans.Hosting.ClientBuilderStreamingExtensions.AddMemoryStreams(client, DidStreams.Provider), ClusterFixture.TestClusterSecret));
        await using var cluster = builder.Build();
        await cluster.DeployAsync();

        var (_, node, _) = await CreateNodeAsync(cluster.Client);
        using var clone = SigningKey.Generate();
        var nonce = NewNonce();
        var challenge = (await node.RegisterAsync(Request(clone, nonce))).Challenge!;
        Assert.Equal(clock.GetUtcNow().ToUnixTimeMilliseconds() + (long)timeout.TotalMilliseconds, challenge.ExpiresAt);
        clock.Advance(timeout * 2);

        var late = await node.RegisterAsync(Request(clone, nonce) with
        {
            ChallengeResponse = challenge.Challenge,
            IdentityProof = IdentityProof(clone, challenge.Challenge, nonce),
        });
        Assert.False(late.Approved);
        Assert.Equal(DenialReasons.InvalidIdentityProof, late.DenialReason);
    }
}
