namespace Vivim.Gateway.P2p.Ownership;

/// <summary>
/// Which hosted DIDs this gateway silo serves on libp2p (provides on the DHT, publishes on GossipSub, names in the
/// advertisement): rendezvous hashing over the cluster's active gateway silos, recomputed on every membership change.
/// </summary>
public interface IDidOwnership
{
    /// <summary>True when this gateway is the DID's owner now.</summary>
    bool Owns(string did);

    /// <summary>The DIDs this gateway owns now.</summary>
    IReadOnlyCollection<string> OwnedDids { get; }

    /// <summary>Raised after ownership moved: DIDs this gateway took over and DIDs it gave up (or that were deleted).</summary>
    event EventHandler<DidOwnershipChange>? Changed;
}
