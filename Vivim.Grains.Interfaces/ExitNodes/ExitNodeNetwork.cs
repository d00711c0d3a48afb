namespace Vivim.ExitNodes;

/// <summary>
/// Where an exit node is served on the network, set by the gateway that owns its DID: that gateway's libp2p peer id,
/// its announce addresses (without the <c>/p2p/</c> suffix) and its public HTTP base URL (what a registration answer's
/// <c>endpoints.api</c> names).
/// </summary>
[GenerateSerializer, Immutable, Alias("vivim.ExitNodeNetwork")]
public sealed record ExitNodeNetwork(string PeerId, IReadOnlyList<string> Multiaddrs, string ApiUrl)
{
    /// <summary>The seed's <c>endpoints.p2p</c>: the first announce address with <c>/p2p/&lt;peerId&gt;</c>, or empty.</summary>
    public string P2pEndpoint => Multiaddrs.Count == 0 ? string.Empty : Multiaddrs[0] + "/p2p/" + PeerId;

    /// <summary>Value equality over the addresses' contents (records compare lists by reference).</summary>
    public bool SameAs(ExitNodeNetwork? other) =>
        other is not null
        && string.Equals(PeerId, other.PeerId, StringComparison.Ordinal)
        && string.Equals(ApiUrl, other.ApiUrl, StringComparison.Ordinal)
        && Multiaddrs.SequenceEqual(other.Multiaddrs, StringComparer.Ordinal);
}
