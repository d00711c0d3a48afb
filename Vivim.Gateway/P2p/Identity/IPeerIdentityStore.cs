using Vivim.Libp2p.Core;

namespace Vivim.Gateway.P2p.Identity;

/// <summary>Where this gateway silo keeps its libp2p identity, sealed under the key-encryption key.</summary>
public interface IPeerIdentityStore
{
    /// <summary>The stored identity, or a new one stored first (the first start of this silo).</summary>
    Task<Ed25519Identity> LoadOrCreateAsync(CancellationToken cancellationToken);
}
