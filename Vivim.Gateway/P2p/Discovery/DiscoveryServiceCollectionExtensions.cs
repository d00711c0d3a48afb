using Vivim.Gateway.Hosting;

namespace Vivim.Gateway.P2p.Discovery;

public static class DiscoveryServiceCollectionExtensions
{
    /// <summary>
    /// <see cref="DidAnnouncer"/>: DHT provider records and the advertisement's network fields for the DIDs this
    /// gateway owns, started when the silo is active. Needs <see cref="GatewayPeer"/> (a singleton whose KadDht leaves
    /// republishing to this service: <c>ProviderRepublishInterval = TimeSpan.Zero</c>), <see cref="Ownership.IDidOwnership"/>
    /// (<c>AddVivimDidOwnership</c>), <see cref="Security.CallPrincipals"/> and a <see cref="TimeProvider"/>. Options:
    /// <c>Vivim:P2p</c> (<c>ProvidesPerSecond</c>, <c>ProvideQueueCapacity</c>, <c>ReprovideInterval</c>,
    /// <c>AddressCheckInterval</c>) and <c>Vivim:Gateway:PublicUrl</c>. Without <paramref name="startWithSilo"/> the caller starts it.
    /// </summary>
    public static IServiceCollection AddVivimDidDiscovery(this IServiceCollection services, IConfiguration configuration, bool startWithSilo = true)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<DiscoveryOptions>().Bind(configuration.GetSection(DiscoveryOptions.Section))
            .Validate(o => o.ProvidesPerSecond > 0 && o.ProvideQueueCapacity > 0 && o.ReprovideInterval > TimeSpan.Zero && o.AddressCheckInterval > TimeSpan.Zero,
                "Vivim:P2p: ProvidesPerSecond, ProvideQueueCapacity, ReprovideInterval and AddressCheckInterval must be positive.")
            .ValidateOnStart();
        services.AddOptions<GatewayOptions>().Bind(configuration.GetSection(GatewayOptions.Section));
        if (services.Any(d => d.ServiceType == typeof(DidAnnouncer)))
        {
            return services;
        }

        services.AddSingleton<GatewayPublicUrl>();
        services.AddSingleton<DidAnnouncer>();
        if (startWithSilo)
        {
            services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<DidAnnouncer>());
        }

        return services;
    }
}
