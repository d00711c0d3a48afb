using System.Text.Json.Serialization;

namespace Vivim.Protocol.Model;

/// <summary>What an exit node publishes so that clones can find and register with it (SDK shape plus the v2 proof).</summary>
[GenerateSerializer, Immutable, Alias("vivim.ExitNodeAdvertisement")]
public sealed record ExitNodeAdvertisement(
    string Did,
    string PeerId,
    IReadOnlyList<string> Multiaddrs,
    IReadOnlyList<string> Capabilities,
    IReadOnlyList<string> SupportedCloneVersions,
    TrustLevel TrustLevel,
    AnchorState AnchorState,
    ExitNodeEndpoints Endpoints,
    ExitNodePolicy Policy,
    V2Proof? Proof = null);

[GenerateSerializer, Immutable, Alias("vivim.ExitNodeEndpoints")]
public sealed record ExitNodeEndpoints(
    [property: JsonPropertyName("clone")] string CloneEndpoint, // records may not have a member named Clone
    string Sync,
    string Relay);

/// <summary>The SDK's registration policy. Defaults are the SDK's: 100 clones, migration allowed, verification required.</summary>
[GenerateSerializer, Immutable, Alias("vivim.ExitNodePolicy")]
public sealed record ExitNodePolicy(int MaxClones = 100, bool AllowMigration = true, bool RequireVerification = true);
