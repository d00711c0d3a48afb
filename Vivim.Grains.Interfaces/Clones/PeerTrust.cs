using Vivim.Protocol.Model;

namespace Vivim.Clones;

/// <summary>What a relay clone learns from its parent about a peer that asks it for data: that DID's clone, as the parent holds it now.</summary>
[GenerateSerializer, Immutable, Alias("vivim.PeerTrust")]
public sealed record PeerTrust(string CloneId, TrustLevel TrustLevel, IReadOnlyList<string> Permissions);
