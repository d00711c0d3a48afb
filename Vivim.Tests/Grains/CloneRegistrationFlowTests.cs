using Vivim.ExitNodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Storage;
using static Vivim.Tests.Grains.ExitNodeTestKit;

namespace Vivim.Tests.Grains;

/// <summary>The registration handshake's rules without a silo: every denial, the challenge round trip, and nonces.</summary>
public sealed class CloneRegistrationFlowTests
{
    private const long T0 = 1_767_225_600_000;

    private static readonly SigningKey CloneKey = SigningKey.FromSeedHex("0707070707070707070707070707070707070707070707070707070707070707");
    private static readonly SigningKey Stranger = SigningKey.FromSeedHex("0808080808080808080808080808080808080808080808080808080808080808");
    private static readonly NonceScope Scope = NonceScope.Registrations("did:key:z6MkExitNode");

    private readonly ExitNodeOptions _options = new() { RegistrationsPerMinute = 5, ChallengeTimeout = TimeSpan.FromSeconds(30), NonceRetention = TimeSpan.FromMinutes(10), MaxPendingChallenges = 8 };
    private readonly InMemoryNonceLedger _spent = new();
    private readonly CloneRegistrationFlow _flow;

    public CloneRegistrationFlowTests() => _flow = new CloneRegistrationFlow(_options, _spent);

    private static ExitNodePolicy Open => new(MaxClones: 10, RequireVerification: false, AllowMigration: true);

    private static ExitNodePolicy Verified => new(MaxClones: 10, RequireVerification: true, AllowMigration: true);

    private Task<RegistrationDecision> Decide(CloneRegistrationRequest request, ExitNodePolicy? policy = null, int clones = 0, long now = T0) =>
        _flow.DecideAsync(Scope, request, policy ?? Open, clones, now);

    [Fact]
    public async Task A_verified_registration_is_a_challenge_then_a_signed_answer()
    {
        var first = await Decide(Request(CloneKey, "n1", T0), Verified);
        Assert.Equal(DenialReasons.ChallengeRequired, first.DenialReason);
        Assert.False(first.SpendsNonce);
        Assert.Equal("n1", first.Challenge!.Nonce);
        Assert.Equal(T0 + 30_000, first.Challenge.ExpiresAt);

        var answer = Request(CloneKey, "n1", T0) with { ChallengeResponse = first.Challenge.Challenge, IdentityProof = IdentityProof(CloneKey, first.Challenge.Challenge, "n1") };
        var second = await Decide(answer, Verified, now: T0 + 1_000);
        Assert.True(second.Approved);
        Assert.True(second.SpendsNonce);
        Assert.Equal(MigrationType.Mirror, second.Migration);

        // The challenge is single-use; without a spend (the grain's job) the replay fails its proof and spends nothing.
        var replay = await Decide(answer, Verified, now: T0 + 2_000);
        Assert.Equal(RegistrationDecision.Deny(DenialReasons.InvalidIdentityProof), replay);
    }

    [Fact]
    public async Task A_wrong_signer_a_wrong_challenge_a_late_answer_or_another_did_is_a_failed_proof_that_spends_nothing()
    {
        async Task<CloneRegistrationRequest> Answer(string nonce, SigningKey signer, string? response = null, SigningKey? claimed = null)
        {
            var challenge = await _flow.IssueChallengeAsync(Scope, (claimed ?? CloneKey).Did.Value, nonce, T0);
            return Request(CloneKey, nonce, T0) with { ChallengeResponse = response ?? challenge.Challenge, IdentityProof = IdentityProof(signer, challenge.Challenge, nonce) };
        }

        var failed = RegistrationDecision.Deny(DenialReasons.InvalidIdentityProof);
        Assert.Equal(failed, await Decide(await Answer("a", Stranger), Verified));
        Assert.Equal(failed, await Decide(await Answer("b", CloneKey, response: "not-the-challenge"), Verified));
        Assert.Equal(failed, await Decide(await Answer("c", CloneKey, claimed: Stranger), Verified));
        var late = new CloneRegistrationFlow(_options, _spent);
        var issued = await late.IssueChallengeAsync(Scope, CloneKey.Did.Value, "d", T0);
        var lateAnswer = Request(CloneKey, "d", T0 + 30_001) with { ChallengeResponse = issued.Challenge, IdentityProof = IdentityProof(CloneKey, issued.Challenge, "d") };
        Assert.Equal(failed, await late.DecideAsync(Scope, lateAnswer, Verified, 0, T0 + 30_001));
        Assert.Equal(0, _spent.Count);
    }

    [Fact]
    public async Task Denials_before_the_proof_leave_the_nonce_unspent()
    {
        Assert.Equal(RegistrationDecision.Deny(DenialReasons.InvalidTimestamp), await Decide(Request(CloneKey, "n", T0 - 300_001)));
        Assert.Equal(RegistrationDecision.Deny(DenialReasons.InvalidTimestamp), await Decide(Request(CloneKey, "n", T0 + 300_001)));
        Assert.Equal(RegistrationDecision.Deny(DenialReasons.InvalidTimestamp), await Decide(Request(CloneKey, "n", long.MinValue)));
        Assert.Equal(RegistrationDecision.Deny(DenialReasons.InvalidIdentityProof), await Decide(Request(Stranger, new string('n', 257), T0)));

        Assert.True(await _flow.TrySpendAsync(Scope, "used", T0));
        Assert.Equal(RegistrationDecision.Deny(DenialReasons.NonceAlreadyUsed), await Decide(Request(Stranger, "used", T0)));
    }

    [Fact]
    public async Task Each_did_is_rate_limited_per_minute_challenges_included()
    {
        for (var i = 0; i < 4; i++)
        {
            Assert.True((await Decide(Request(CloneKey, $"n{i}", T0))).Approved);
        }

        await _flow.IssueChallengeAsync(Scope, CloneKey.Did.Value, "c", T0);
        Assert.Equal(RegistrationDecision.Deny(DenialReasons.RateLimitExceeded), await Decide(Request(CloneKey, "n5", T0)));
        var refused = await Assert.ThrowsAsync<ArgumentException>(() => _flow.IssueChallengeAsync(Scope, CloneKey.Did.Value, "c2", T0));
        Assert.StartsWith(DenialReasons.RateLimitExceeded, refused.Message, StringComparison.Ordinal);
        Assert.True((await Decide(Request(Stranger, "s", T0))).Approved);
        Assert.True((await Decide(Request(CloneKey, "n6", T0 + 60_000), now: T0 + 60_000)).Approved);
    }

    [Fact]
    public async Task Capacity_and_migration_policy_conclude_the_registration_and_an_invalid_did_does_not()
    {
        Assert.Equal(RegistrationDecision.Conclude(DenialReasons.CapacityExceeded), await Decide(Request(CloneKey, "a", T0), clones: 10));
        Assert.Equal(RegistrationDecision.Deny(DenialReasons.InvalidIdentityProof), await Decide(Request(CloneKey, "b", T0) with { Did = "did:web:example.com" }));

        var closed = Open with { AllowMigration = false };
        Assert.Equal(RegistrationDecision.Conclude(DenialReasons.MigrationNotAllowed), await Decide(Request(Stranger, "c", T0, MigrationType.Fork), closed));
        Assert.True((await Decide(Request(Stranger, "d", T0, MigrationType.Mirror), closed)).Approved);
        Assert.Equal(MigrationType.Relay, (await Decide(Request(Stranger, "e", T0, MigrationType.Relay))).Migration);
    }

    [Fact]
    public async Task A_challenge_is_refused_for_a_bad_or_spent_nonce()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _flow.IssueChallengeAsync(Scope, CloneKey.Did.Value, "", T0));
        await Assert.ThrowsAsync<ArgumentException>(() => _flow.IssueChallengeAsync(Scope, CloneKey.Did.Value, new string('n', 257), T0));
        await Assert.ThrowsAsync<ArgumentException>(() => _flow.IssueChallengeAsync(Scope, "", "n", T0));
        Assert.True(await _flow.TrySpendAsync(Scope, "n", T0));
        var spent = await Assert.ThrowsAsync<ArgumentException>(() => _flow.IssueChallengeAsync(Scope, CloneKey.Did.Value, "n", T0));
        Assert.StartsWith(DenialReasons.NonceAlreadyUsed, spent.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Spent_nonces_are_remembered_for_the_retention_and_then_count_as_new()
    {
        Assert.True(await _flow.TrySpendAsync(Scope, "old", T0));
        Assert.False(await _flow.TrySpendAsync(Scope, "old", T0 + 600_000));
        Assert.Equal(RegistrationDecision.Deny(DenialReasons.NonceAlreadyUsed), await Decide(Request(Stranger, "old", T0 + 600_000), now: T0 + 600_000));
        Assert.True(await _flow.TrySpendAsync(Scope, "old", T0 + 600_001));
    }

    [Fact]
    public async Task Pending_challenges_are_bounded_per_node_and_expire()
    {
        // Fresh DIDs escape the per-DID limit; the node's bound holds them all the same.
        var dids = Enumerable.Range(0, 9).Select(_ => SigningKey.Generate().Did.Value).ToList();
        for (var i = 0; i < 8; i++)
        {
            await _flow.IssueChallengeAsync(Scope, dids[i], $"n{i}", T0);
        }

        Assert.Equal(8, _flow.PendingChallenges);
        var full = new CloneRegistrationRequest(dids[8], [], PreferredNetwork.Local, string.Empty, T0, "n8");
        Assert.Equal(RegistrationDecision.Deny(DenialReasons.RateLimitExceeded), await Decide(full, Verified));
        await Assert.ThrowsAsync<ArgumentException>(() => _flow.IssueChallengeAsync(Scope, dids[8], "n8", T0));

        // Once they expire there is room again, and the expired ones are gone.
        Assert.Equal(DenialReasons.ChallengeRequired, (await Decide(full with { Timestamp = T0 + 30_001 }, Verified, now: T0 + 30_001)).DenialReason);
        Assert.Equal(1, _flow.PendingChallenges);
    }
}
