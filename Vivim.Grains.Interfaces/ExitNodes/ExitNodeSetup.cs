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
