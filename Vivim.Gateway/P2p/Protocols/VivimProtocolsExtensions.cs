namespace Vivim.Gateway.P2p.Protocols;

/// <summary>Registers the <c>/vivim/*</c> stream protocols as <see cref="IP2pProtocol"/>s for the gateway's libp2p peer.</summary>
public static class VivimProtocolsExtensions
{
    public static IServiceCollection AddVivimP2pProtocols(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<VivimProtocolOptions>().Bind(configuration.GetSection(VivimProtocolOptions.Section));
        services.AddSingleton<PeerFloodGuard>();
        services.AddSingleton<VivimProtocolContext>();
        services.AddSingleton<OpenSyncStreams>();
        services.AddSingleton<IP2pProtocol, ExitNodeProtocol>();
        services.AddSingleton<IP2pProtocol, CloneProtocol>();
        services.AddSingleton<IP2pProtocol, SyncProtocol>();
        return services;
    }
}
