using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Vivim.Protocol;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;

namespace Vivim.ExitNodes;

/// <summary>
/// The SDK's clone registration handshake as rules, without the grain: rate limit, timestamp window, nonces, the
/// challenge round trip and its identity proof, then capacity and migration policy. Challenges and the rate limit
/// live in this object (one activation's memory); spent nonces are the caller's persisted state, passed in.
/// </summary>
/// <remarks>
/// A request that only asks for a challenge, or is refused before its proof is checked, leaves its nonce unspent;
/// from the identity proof on, the registration concludes and spends its nonce whatever the answer
/// (<see cref="RegistrationDecision.SpendsNonce"/>).
/// </remarks>
internal sealed class CloneRegistrationFlow(ExitNodeOptions options)
{
    /// <summary>How far a request's timestamp may be from now, either way (the SDK's ±5 minutes).</summary>
    public const long TimestampWindowMs = 300_000;

    public const int MaxNonceLength = 256;

    private readonly Dictionary<string, PendingChallenge> _challenges = new(StringComparer.Ordinal);
    private readonly RegistrationRateLimiter _rateLimiter = new(options.RegistrationsPerMinute);

    /// <summary>A challenge asked for on its own; an <see cref="ArgumentException"/> for a bad or spent nonce.</summary>
    public RegistrationChallenge IssueChallenge(string cloneDid, string nonce, IReadOnlyDictionary<string, long> spentNonces, long nowMs)
    {
        ArgumentException.ThrowIfNullOrEmpty(cloneDid);
        ArgumentException.ThrowIfNullOrEmpty(nonce);
        if (nonce.Length > MaxNonceLength)
        {
            throw new ArgumentException($"A nonce is at most {MaxNonceLength} characters.", nameof(nonce));
        }

        if (spentNonces.ContainsKey(nonce))
        {
            throw new ArgumentException(DenialReasons.NonceAlreadyUsed, nameof(nonce));
        }

        return Issue(cloneDid, nonce, nowMs);
    }

    /// <summary>Takes the request through the SDK's steps, in the SDK's order, up to approval or the first denial.</summary>
    public RegistrationDecision Decide(CloneRegistrationRequest request, ExitNodePolicy policy, int cloneCount, IReadOnlyDictionary<string, long> spentNonces, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(request);
        var did = request.Did ?? string.Empty;
        if (!_rateLimiter.TryAcquire(did, nowMs))
        {
            return RegistrationDecision.Deny(DenialReasons.RateLimitExceeded);
        }

        // Compared without subtracting from the request's value, which may be any long.
        if (request.Timestamp < nowMs - TimestampWindowMs || request.Timestamp > nowMs + TimestampWindowMs)
        {
            return RegistrationDecision.Deny(DenialReasons.InvalidTimestamp);
        }

        if (string.IsNullOrEmpty(request.Nonce) || request.Nonce.Length > MaxNonceLength)
        {
            return RegistrationDecision.Deny(DenialReasons.InvalidIdentityProof);
        }

        if (spentNonces.ContainsKey(request.Nonce))
        {
            return RegistrationDecision.Deny(DenialReasons.NonceAlreadyUsed);
        }

        if (request.ChallengeResponse is null)
        {
            if (policy.RequireVerification)
            {
                // The first half of the round trip: the nonce stays unspent until the answer comes.
                return RegistrationDecision.Deny(DenialReasons.ChallengeRequired) with { Challenge = Issue(did, request.Nonce, nowMs) };
            }
        }
        else
        {
            var proven = ProvesIdentity(request, nowMs);
            _challenges.Remove(request.Nonce); // single-use, whatever the outcome
            if (!proven)
            {
                return RegistrationDecision.Conclude(DenialReasons.InvalidIdentityProof);
            }
        }

        if (!IsDidKey(did))
        {
            return RegistrationDecision.Conclude(DenialReasons.InvalidIdentityProof);
        }

        if (cloneCount >= policy.MaxClones)
        {
            return RegistrationDecision.Conclude(DenialReasons.CapacityExceeded);
        }

        // No migrationType (every SDK 1.x client) means mirror. SDK 1.x itself labels every clone a fork and so refuses
        // all registrations when migration is off; we only refuse what actually migrates (relay, fork).
        var migration = request.MigrationType ?? MigrationType.Mirror;
        if (!policy.AllowMigration && migration != MigrationType.Mirror)
        {
            return RegistrationDecision.Conclude(DenialReasons.MigrationNotAllowed);
        }

        return RegistrationDecision.Approve(migration);
    }

    /// <summary>Records <paramref name="nonce"/> as spent, forgetting those older than the nonce retention.</summary>
    public void SpendNonce(Dictionary<string, long> spentNonces, string nonce, long nowMs)
    {
        var horizon = nowMs - (long)options.NonceRetention.TotalMilliseconds;
        foreach (var old in spentNonces.Where(p => p.Value < horizon).Select(p => p.Key).ToList())
        {
            spentNonces.Remove(old);
        }

        spentNonces[nonce] = nowMs;
    }

    private RegistrationChallenge Issue(string did, string nonce, long nowMs)
    {
        foreach (var expired in _challenges.Where(p => p.Value.ExpiresAt < nowMs).Select(p => p.Key).ToList())
        {
            _challenges.Remove(expired);
        }

        // Asking again under the same unspent nonce replaces its challenge. Challenges live 30 s and each DID is rate
        // limited, so this map stays small; the gateway limits per peer and IP in front of it.
        // crypto.randomUUID() in the SDK; Guid.NewGuid is a random (v4) UUID from the OS CSPRNG.
        var challenge = new RegistrationChallenge(Guid.NewGuid().ToString(), nonce, nowMs + (long)options.ChallengeTimeout.TotalMilliseconds);
        _challenges[nonce] = new PendingChallenge(did, challenge.Challenge, challenge.ExpiresAt);
        return challenge;
    }

    private bool ProvesIdentity(CloneRegistrationRequest request, long nowMs)
    {
        if (!_challenges.TryGetValue(request.Nonce, out var pending)
            || nowMs > pending.ExpiresAt
            || !string.Equals(pending.Did, request.Did, StringComparison.Ordinal)
            || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(pending.Challenge), Encoding.UTF8.GetBytes(request.ChallengeResponse ?? string.Empty)))
        {
            return false;
        }

        try
        {
            var signed = new JsonObject { ["challenge"] = pending.Challenge, ["nonce"] = request.Nonce };
            return SignatureV1.Verify(signed, SignatureV1.IdentityProofFields, request.IdentityProof, DidKey.Parse(request.Did).PublicKey);
        }
        catch (ProtocolException)
        {
            // A malformed DID or signature is a failed proof, never an error.
            return false;
        }
    }

    private static bool IsDidKey(string did)
    {
        try
        {
            DidKey.Parse(did);
            return true;
        }
        catch (ProtocolException)
        {
            return false;
        }
    }

    private sealed record PendingChallenge(string Did, string Challenge, long ExpiresAt);
}
