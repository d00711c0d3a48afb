namespace Vivim.Protocol.Model;

/// <summary>A clone's request to register with an exit node (SDK shape; <see cref="MigrationType"/> is our optional addition).</summary>
[GenerateSerializer, Immutable, Alias("vivim.CloneRegistrationRequest")]
public sealed record CloneRegistrationRequest(
    string Did,
    IReadOnlyList<string> DesiredCapabilities,
    PreferredNetwork PreferredNetwork,
    string IdentityProof,
    long Timestamp,
    string Nonce,
    string? RequestedCloneId = null,
    string? ChallengeResponse = null,
    MigrationType? MigrationType = null);

/// <summary>The exit node's answer; <see cref="CloneId"/> is empty on denial, and a denial for a missing challenge carries one.</summary>
[GenerateSerializer, Immutable, Alias("vivim.CloneRegistrationResponse")]
public sealed record CloneRegistrationResponse(
    bool Approved,
    string CloneId,
    string? AssignedPeerId = null,
    CloneEndpoints? Endpoints = null,
    TrustProof? TrustProof = null,
    StateSnapshot? InitialState = null,
    string? DenialReason = null,
    RegistrationChallenge? Challenge = null);

[GenerateSerializer, Immutable, Alias("vivim.CloneEndpoints")]
public sealed record CloneEndpoints(string Api, string P2p, string? Relay = null);

/// <summary>A single-use challenge: the clone signs <c>{challenge, nonce}</c> (v1 rule) before <see cref="ExpiresAt"/>.</summary>
[GenerateSerializer, Immutable, Alias("vivim.RegistrationChallenge")]
public sealed record RegistrationChallenge(string Challenge, string Nonce, long ExpiresAt);
