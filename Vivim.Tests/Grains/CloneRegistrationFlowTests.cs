using Vivim.ExitNodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using static Vivim.Tests.Grains.ExitNodeTestKit;

namespace Vivim.Tests.Grains;

/// <summary>The registration handshake's rules without a silo: every denial, the challenge round trip, and nonces.</summary>
public sealed class CloneRegistrationFlowTests
{
    private const long T0 = 1_767_225_600_000;

    private static readonly SigningKey CloneKey = SigningKey.FromSeedHex("0707070707070707070707070707070707070707070707070707070707070707");
    private static readonly SigningKey Stranger = SigningKey.FromSeedHex("0808080808080808080808080808080808080808080808080808080808080808");

    private readonly ExitNodeOptions _options = new() { RegistrationsPerMinute = 5, ChallengeTimeout = TimeSpan.FromSeconds(30), NonceRetention = TimeSpan.FromMinutes(10) };
    private readonly Dictionary<string, long> _spent = new(StringComparer.Ordinal);
    private readonly CloneRegistrationFlow _flow;

    public CloneRegistrationFlowTests() => _flow = new CloneRegistrationFlow(_options);

    private static ExitNodePolicy Open => new(MaxClones: 10, RequireVerification: false, AllowMigration: true);

    private static ExitNodePolicy Verified => new(MaxClones: 10, RequireVerification: true, AllowMigration: true);

    private RegistrationDecision Decide(CloneRegistrationRequest request, ExitNodePolicy? policy = null, int clones = 0, long now = T0) =>
        _flow.Decide(request, policy ?? Open, clones, _spent, now);

    [Fact]
    public void A_verified_registration_is_a_challenge_then_a_signed_answer()
    {
        var first = Decide(Request(CloneKey, "n1", T0), Verified);
        Assert.Equal(DenialReasons.ChallengeRequired, first.DenialReason);
        Assert.False(first.SpendsNonce);
        Assert.Equal("n1", first.Challenge!.Nonce);
        Assert.Equal(T0 + 30_000, first.Challenge.ExpiresAt);

        var answer = Request(CloneKey, "n1", T0) with { ChallengeResponse = first.Challenge.Challenge, IdentityProof = IdentityProof(CloneKey, first.Challenge.Challenge, "n1") };
        var second = Decide(answer, Verified, now: T0 + 1_000);
        Assert.True(second.Approved);
        Assert.Equal(MigrationType.Mirror, second.Migration);

        // The challenge is single-use.
        var replay = Decide(answer, Verified, now: T0 + 2_000);
        Assert.Equal(DenialReasons.InvalidIdentityProof, replay.DenialReason);
        Assert.True(replay.SpendsNonce);
    }

    [Fact]
    public void A_wrong_signer_a_wrong_challenge_a_late_answer_or_another_did_is_a_failed_proof_that_spends_the_nonce()
    {
        CloneRegistrationRequest Answer(string nonce, SigningKey signer, string? response = null, SigningKey? claimed = null)
        {
            var challenge = _flow.IssueChallenge((claimed ?? CloneKey).Did.Value, nonce, _spent, T0);
            return Request(CloneKey, nonce, T0) with { ChallengeResponse = response ?? challenge.Challenge, IdentityProof = IdentityProof(signer, challenge.Challenge, nonce) };
        }

        Assert.Equal(RegistrationDecision.Conclude(DenialReasons.InvalidIdentityProof), Decide(Answer("a", Stranger), Verified));
        Assert.Equal(RegistrationDecision.Conclude(DenialReasons.InvalidIdentityProof), Decide(Answer("b", CloneKey, response: "not-the-challenge"), Verified));
        Assert.Equal(RegistrationDecision.Conclude(DenialReasons.InvalidIdentityProof), Decide(Answer("c", CloneKey), Verified, now: T0 + 30_001));
        Assert.Equal(RegistrationDecision.Conclude(DenialReasons.InvalidIdentityProof), Decide(Answer("d", CloneKey, claimed: Stranger), Verified));
    }

    [Fact]
    public void Denials_before_the_proof_leave_the_nonce_unspent()
    {
        Assert.Equal(RegistrationDecision.Deny(DenialReasons.InvalidTimestamp), Decide(Request(CloneKey, "n", T0 - 300_001)));
        Assert.Equal(RegistrationDecision.Deny(DenialReasons.InvalidTimestamp), Decide(Request(CloneKey, "n", T0 + 300_001)));
        Assert.Equal(RegistrationDecision.Deny(DenialReasons.InvalidTimestamp), Decide(Request(CloneKey, "n", long.MinValue)));
        Assert.Equal(RegistrationDecision.Deny(DenialReasons.InvalidIdentityProof), Decide(Request(Stranger, new string('n', 257), T0)));

        _spent["used"] = T0;
        Assert.Equal(RegistrationDecision.Deny(DenialReasons.NonceAlreadyUsed), Decide(Request(Stranger, "used", T0)));
    }

    [Fact]
    public void Each_did_is_rate_limited_per_minute()
    {
        for (var i = 0; i < 5; i++)
        {
            Assert.True(Decide(Request(CloneKey, $"n{i}", T0)).Approved);
        }

        Assert.Equal(RegistrationDecision.Deny(DenialReasons.RateLimitExceeded), Decide(Request(CloneKey, "n5", T0)));
        Assert.True(Decide(Request(Stranger, "s", T0)).Approved);
        Assert.True(Decide(Request(CloneKey, "n6", T0 + 60_000), now: T0 + 60_000).Approved);
    }

    [Fact]
    public void Capacity_migration_policy_and_the_did_conclude_the_registration()
    {
        Assert.Equal(RegistrationDecision.Conclude(DenialReasons.CapacityExceeded), Decide(Request(CloneKey, "a", T0), clones: 10));
        Assert.Equal(RegistrationDecision.Conclude(DenialReasons.InvalidIdentityProof), Decide(Request(CloneKey, "b", T0) with { Did = "did:web:example.com" }));

        var closed = Open with { AllowMigration = false };
        Assert.Equal(RegistrationDecision.Conclude(DenialReasons.MigrationNotAllowed), Decide(Request(Stranger, "c", T0, MigrationType.Fork), closed));
        Assert.True(Decide(Request(Stranger, "d", T0, MigrationType.Mirror), closed).Approved);
        Assert.Equal(MigrationType.Relay, Decide(Request(Stranger, "e", T0, MigrationType.Relay)).Migration);
    }

    [Fact]
    public void A_challenge_is_refused_for_a_bad_or_spent_nonce()
    {
        Assert.Throws<ArgumentException>(() => _flow.IssueChallenge(CloneKey.Did.Value, "", _spent, T0));
        Assert.Throws<ArgumentException>(() => _flow.IssueChallenge(CloneKey.Did.Value, new string('n', 257), _spent, T0));
        Assert.Throws<ArgumentException>(() => _flow.IssueChallenge("", "n", _spent, T0));
        _spent["n"] = T0;
        var spent = Assert.Throws<ArgumentException>(() => _flow.IssueChallenge(CloneKey.Did.Value, "n", _spent, T0));
        Assert.StartsWith(DenialReasons.NonceAlreadyUsed, spent.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Spent_nonces_are_remembered_for_the_retention_and_then_forgotten()
    {
        _flow.SpendNonce(_spent, "old", T0);
        _flow.SpendNonce(_spent, "recent", T0 + 300_000);
        _flow.SpendNonce(_spent, "new", T0 + 600_000);
        Assert.Equal(["old", "recent", "new"], _spent.Keys);

        _flow.SpendNonce(_spent, "newest", T0 + 600_001);
        Assert.Equal(["new", "newest", "recent"], _spent.Keys.Order(StringComparer.Ordinal));
    }
}
