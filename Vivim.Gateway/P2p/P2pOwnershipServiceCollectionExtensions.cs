using Vivim.Gateway.P2p.Discovery;
using Vivim.Gateway.P2p.Ownership;

namespace Vivim.Gateway.P2p;

public static class P2pOwnershipServiceCollectionExtensions
{
    /// <summary>
    /// Which DIDs this gateway silo serves on libp2p (<see cref="IDidOwnership"/>) and their announcement on the DHT
    /// and in their advertisements: <see cref="OwnershipServiceCollectionExtensions.AddVivimDidOwnership"/> plus
    /// <see cref="DiscoveryServiceCollectionExtensions.AddVivimDidDiscovery"/>. Needs <see cref="GatewayPeer"/> registered.
    /// </summary>
    public static IServiceCollection AddVivimP2pOwnership(this IServiceCollection services, IConfiguration configuration) =>
        services.AddVivimDidOwnership(configuration).AddVivimDidDiscovery(configuration);
}
