using Vivim.Protocol.Model;

namespace Vivim.Clones;

[GenerateSerializer, Immutable, Alias("vivim.CloneRegistration")]
public sealed record CloneRegistration(
    string CloneId,
    string CloneDid,
    string ParentDid,
    TrustLevel TrustLevel,
    IReadOnlyList<string> Permissions,
    MigrationType MigrationType,
    long RegisteredAt,
    long InitialSeq);

/// <summary>SDK <see cref="SyncStatus"/> plus the cursor and the anchor's head.</summary>
[GenerateSerializer, Immutable, Alias("vivim.CloneStatus")]
public sealed record CloneStatus(SyncStatus Status, long Cursor, long HeadSeq, TrustLevel TrustLevel);

/// <summary>What a newly attached session needs: where to start, and how many unacknowledged batches it may have.</summary>
[GenerateSerializer, Immutable, Alias("vivim.SessionGrant")]
public sealed record SessionGrant(string ParentDid, long Cursor, SyncConfig Config, int MaxInFlightBatches);

/// <summary>The clone may not do this (suspended, removed, no write permission): HTTP 403.</summary>
[GenerateSerializer, Alias("vivim.CloneAccessDeniedException")]
public sealed class CloneAccessDeniedException(string message) : Exception(message);

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

[GenerateSerializer, Immutable, Alias("vivim.RequestAuthentication")]
public sealed record RequestAuthentication(RequestAuthenticationOutcome Outcome, string Reason);

[GenerateSerializer, Immutable, Alias("vivim.SyncTicket")]
public sealed record SyncTicket(string Ticket, long ExpiresAt);
