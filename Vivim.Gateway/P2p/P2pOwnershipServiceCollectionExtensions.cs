using Vivim.Gateway.P2p.Discovery;
using Vivim.Gateway.P2p.Gossip;
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

    /// <summary>
    /// The gateway's network side over its own peer: ownership, discovery and commit gossip, started by
    /// <see cref="P2pNetworkServices"/> once the peer runs. Call after <c>AddVivimP2p</c>, only when libp2p is enabled.
    /// </summary>
    public static IServiceCollection AddVivimP2pNetwork(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddVivimDidOwnership(configuration).AddVivimDidDiscovery(configuration, startWithSilo: false);
        services.AddVivimP2pGossip(configuration, hosted: false);
        services.AddHostedService<P2pNetworkServices>();
        return services;
    }
}
