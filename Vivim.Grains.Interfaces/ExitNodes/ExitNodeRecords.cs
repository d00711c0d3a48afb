using Vivim.Keys;
using Vivim.Protocol.Model;

namespace Vivim.ExitNodes;

/// <summary>Creating a node: its key, optionally what to advertise (defaults are the SDK's), and its bytes-of-state quota.</summary>
[GenerateSerializer, Immutable, Alias("vivim.ExitNodeSetup")]
public sealed record ExitNodeSetup(
    SecretSeed Seed,
    string TenantId,
    IReadOnlyList<string>? Capabilities = null,
    ExitNodePolicy? Policy = null,
    ExitNodeEndpoints? Endpoints = null,
    IReadOnlyList<string>? DefaultPermissions = null,
    long? MaxStateBytes = null);

[GenerateSerializer, Immutable, Alias("vivim.AdvertisementChange")]
public sealed record AdvertisementChange(
    IReadOnlyList<string>? Capabilities = null,
    ExitNodePolicy? Policy = null,
    ExitNodeEndpoints? Endpoints = null);

/// <summary>
/// The node and its anchor's head; the log still holds seqs from <see cref="RetainedFromSeq"/> on; the current
/// documents take <see cref="StateBytes"/> (what the bytes-of-state quota counts).
/// </summary>
[GenerateSerializer, Immutable, Alias("vivim.ExitNodeInfo")]
public sealed record ExitNodeInfo(string Did, string TenantId, long HeadSeq, string Root, int CloneCount, long RetainedFromSeq = 1, long StateBytes = 0);

/// <summary>The DID is already hosted (HTTP 409).</summary>
[GenerateSerializer, Alias("vivim.ExitNodeConflictException")]
public sealed class ExitNodeConflictException(string message) : Exception(message);

/// <summary>No such exit node or clone here (HTTP 404).</summary>
[GenerateSerializer, Alias("vivim.NotHostedException")]
public sealed class NotHostedException(string message) : Exception(message);

/// <summary>The SDK's registration denial strings, verbatim.</summary>
public static class DenialReasons
{
    public const string RateLimitExceeded = "Rate limit exceeded";
    public const string InvalidTimestamp = "Invalid timestamp";
    public const string NonceAlreadyUsed = "Nonce already used";
    public const string ChallengeRequired = "Challenge required";
    public const string InvalidIdentityProof = "Invalid identity proof";
    public const string CapacityExceeded = "Capacity exceeded";
    public const string MigrationNotAllowed = "Migration not allowed";
}
