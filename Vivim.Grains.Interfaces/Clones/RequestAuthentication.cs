namespace Vivim.Clones;

/// <summary>The outcome of <see cref="ICloneGrain.AuthenticateRequestAsync"/>.</summary>
[GenerateSerializer, Alias("vivim.RequestAuthenticationOutcome")]
public enum RequestAuthenticationOutcome
{
    Accepted,

    /// <summary>No such clone, another clone's key, or a replayed nonce (HTTP 401).</summary>
    Refused,

    /// <summary>The clone is suspended or removed (HTTP 403).</summary>
    Revoked,
}

/// <param name="ParentDid">The clone's parent DID when accepted (a gateway follows it for the clone's revocation), else empty.</param>
[GenerateSerializer, Immutable, Alias("vivim.RequestAuthentication")]
public sealed record RequestAuthentication(RequestAuthenticationOutcome Outcome, string Reason, string ParentDid = "");
