using Vivim.Protocol.Model;

namespace Vivim.Tenants;

/// <summary>
/// A new exit node: an imported key (hex seed) or none, for a custodial key the service creates; and the permissions
/// its clones get on approval (<c>["read"]</c> unless given, <c>["read","write"]</c> for clones that write back).
/// </summary>
[GenerateSerializer, Immutable, Alias("vivim.ExitNodeCreation")]
public sealed record ExitNodeCreation(
    string? PrivateKeySeedHex = null,
    IReadOnlyList<string>? Capabilities = null,
    ExitNodePolicy? Policy = null,
    ExitNodeEndpoints? Endpoints = null,
    IReadOnlyList<string>? DefaultPermissions = null);
