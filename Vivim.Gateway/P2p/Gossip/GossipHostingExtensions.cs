using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Vivim.Gateway.P2p.Gossip;

/// <summary>Composition of commit publishing and validation on GossipSub (needs <see cref="GatewayPeer"/> and <see cref="Ownership.IDidOwnership"/>).</summary>
public static class GossipHostingExtensions
{
    public static IServiceCollection AddVivimP2pGossip(this IServiceCollection services, IConfiguration configuration, bool hosted = true)
    {
        services.AddOptions<CommitGossipOptions>().Bind(configuration.GetSection(CommitGossipOptions.Section));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<KnownExitNodes>();
        services.AddSingleton<CommitValidator>();
        services.AddSingleton<CommitPublisher>();
        if (hosted)
        {
            services.AddHostedService(sp => sp.GetRequiredService<CommitPublisher>());
        }

        return services;
    }
}
