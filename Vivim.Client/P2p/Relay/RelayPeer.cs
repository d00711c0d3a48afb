using Vivim.Protocol.Model;

namespace Vivim.Client.P2p.Relay;

/// <summary>A peer's clone as the parent holds it now (asked by a relay over <c>/vivim/sync</c>, type <c>peer</c>).</summary>
public sealed record RelayPeer(string CloneId, TrustLevel TrustLevel, IReadOnlyList<string> Permissions);
