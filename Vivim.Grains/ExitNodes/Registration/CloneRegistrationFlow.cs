using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Vivim.Protocol;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Storage;

namespace Vivim.ExitNodes;

/// <summary>
/// The SDK's clone registration handshake as rules, without the grain: rate limit, timestamp window, nonces, the
/// challenge round trip and its identity proof, then capacity and migration policy. Challenges and the rate limit
/// live in this object (one activation's memory); spent nonces live in their own rows (<see cref="ISpentNonces"/>).
/// </summary>
/// <remarks>
/// A request that only asks for a challenge, is refused before its proof is checked, or whose proof does not verify
/// leaves its nonce unspent: replaying it is harmless (it is refused again), and an unproven caller must not make the
/// node store anything. From a verified identity on, the registration concludes and spends its nonce whatever the
/// answer (<see cref="RegistrationDecision.SpendsNonce"/>). Unproven work is bounded: per requesting DID by the rate
/// limit (challenges included), per node by <see cref="ExitNodeOptions.MaxPendingChallenges"/>, per client address
/// by the gateway's bucket.
/// </remarks>
internal sealed class CloneRegistrationFlow(ExitNodeOptions options, ISpentNonces nonces)
{
    /// <summary>How far a request's timestamp may be from now, either way (the SDK's ±5 minutes).</summary>
    public const long TimestampWindowMs = 300_000;

    public const int MaxNonceLength = NonceRules.MaxNonceLength;

    private readonly Dictionary<string, PendingChallenge> _challenges = new(StringComparer.Ordinal);

    // Challenges in the order they were issued, which is the order they expire in (one timeout for all).
    private readonly Queue<PendingChallenge> _issued = new();
    private readonly RegistrationRateLimiter _rateLimiter = new(options.RegistrationsPerMinute);

    /// <summary>Challenges waiting for their answer (expired ones included until the next issue sweeps them).</summary>
    public int PendingChallenges => _challenges.Count;

    /// <summary>
    /// A challenge asked for on its own; an <see cref="ArgumentException"/> for a bad or spent nonce, or when the DID's
    /// rate or the node's pending challenges are used up (<see cref="DenialReasons.RateLimitExceeded"/>).
    /// </summary>
    public async Task<RegistrationChallenge> IssueChallengeAsync(NonceScope scope, string cloneDid, string nonce, long nowMs)
    {
        ArgumentException.ThrowIfNullOrEmpty(cloneDid);
        ArgumentException.ThrowIfNullOrEmpty(nonce);
        if (nonce.Length > MaxNonceLength)
        {
            throw new ArgumentException($"A nonce is at most {MaxNonceLength} characters.", nameof(nonce));
        }

        // Counted like a registration request: a challenge is the unproven half of one.
        if (!_rateLimiter.TryAcquire(cloneDid, nowMs))
        {
            throw new ArgumentException(DenialReasons.RateLimitExceeded, nameof(cloneDid));
        }

        if (await nonces.IsSpentAsync(scope, nonce, nowMs))
        {
            throw new ArgumentException(DenialReasons.NonceAlreadyUsed, nameof(nonce));
        }

        return Issue(cloneDid, nonce, nowMs) ?? throw new ArgumentException(DenialReasons.RateLimitExceeded, nameof(nonce));
    }

    /// <summary>Takes the request through the SDK's steps, in the SDK's order, up to approval or the first denial.</summary>
    public async Task<RegistrationDecision> DecideAsync(NonceScope scope, CloneRegistrationRequest request, ExitNodePolicy policy, int cloneCount, long nowMs)
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

        // A keyed read; the atomic spend comes once the registration concludes (TrySpendAsync).
        if (await nonces.IsSpentAsync(scope, request.Nonce, nowMs))
        {
            return RegistrationDecision.Deny(DenialReasons.NonceAlreadyUsed);
        }

        if (request.ChallengeResponse is null)
        {
            if (policy.RequireVerification)
            {
                // The first half of the round trip: the nonce stays unspent until the answer comes.
                return Issue(did, request.Nonce, nowMs) is { } challenge
                    ? RegistrationDecision.Deny(DenialReasons.ChallengeRequired) with { Challenge = challenge }
                    : RegistrationDecision.Deny(DenialReasons.RateLimitExceeded);
            }
        }
        else
        {
            var proven = ProvesIdentity(request, nowMs);
            _challenges.Remove(request.Nonce); // single-use, whatever the outcome
            if (!proven)
            {
                // Unproven: the caller pays (a new challenge), the node stores nothing.
                return RegistrationDecision.Deny(DenialReasons.InvalidIdentityProof);
            }
        }

        if (!IsDidKey(did))
        {
            return RegistrationDecision.Deny(DenialReasons.InvalidIdentityProof);
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

    /// <summary>
    /// Spends <paramref name="nonce"/> for the nonce retention: one keyed row. False when it was spent meanwhile (the
    /// registration must then be refused as a replay).
    /// </summary>
    public Task<bool> TrySpendAsync(NonceScope scope, string nonce, long nowMs) =>
        nonces.TrySpendAsync(scope, nonce, nowMs, nowMs + (long)options.NonceRetention.TotalMilliseconds);

    /// <summary>A new challenge for <paramref name="nonce"/>; null when the node has as many pending as it keeps.</summary>
    private RegistrationChallenge? Issue(string did, string nonce, long nowMs)
    {
        // Expired challenges leave from the front of the queue: a sweep costs what it removes, not what is pending.
        while (_issued.TryPeek(out var oldest) && oldest.ExpiresAt < nowMs)
        {
            _issued.Dequeue();
            if (_challenges.TryGetValue(oldest.Nonce, out var current) && ReferenceEquals(current, oldest))
            {
                _challenges.Remove(oldest.Nonce);
            }
        }

        // Asking again under the same unspent nonce replaces its challenge. The queue may hold replaced or answered
        // entries until they expire; it is bounded with the map, since each entry is issued within one timeout.
        if (!_challenges.ContainsKey(nonce) && (_challenges.Count >= options.MaxPendingChallenges || _issued.Count >= 2 * options.MaxPendingChallenges))
        {
            return null;
        }

        // crypto.randomUUID() in the SDK; Guid.NewGuid is a random (v4) UUID from the OS CSPRNG.
        var challenge = new RegistrationChallenge(Guid.NewGuid().ToString(), nonce, nowMs + (long)options.ChallengeTimeout.TotalMilliseconds);
        var pending = new PendingChallenge(did, nonce, challenge.Challenge, challenge.ExpiresAt);
        _challenges[nonce] = pending;
        _issued.Enqueue(pending);
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

    private sealed record PendingChallenge(string Did, string Nonce, string Challenge, long ExpiresAt);
}
