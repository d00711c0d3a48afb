using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Vivim.Gateway.P2p.Ownership;

public static class OwnershipServiceCollectionExtensions
{
    /// <summary>
    /// <see cref="IDidOwnership"/> for a gateway silo: rendezvous over the active gateway silos, starting when the silo
    /// is active. Needs, from the silo: silo metadata (<c>UseSiloMetadata</c>, which <c>AddVivimSilo</c> sets up with
    /// the silo's role), an <see cref="Storage.IHostedDidDirectory"/>, the memory stream provider and
    /// <see cref="Security.CallPrincipals"/> (<c>AddVivimGrains</c>). Options: <c>Vivim:P2p:Ownership</c>.
    /// </summary>
    public static IServiceCollection AddVivimDidOwnership(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<DidOwnershipOptions>().Bind(configuration.GetSection(DidOwnershipOptions.Section))
            .Validate(o => o.RescanInterval > TimeSpan.Zero && o.UndecidedRecheckInterval > TimeSpan.Zero, "Vivim:P2p:Ownership intervals must be positive.")
            .ValidateOnStart();
        services.TryAddSingleton<GatewayMembership>();
        if (services.Any(d => d.ServiceType == typeof(DidOwnership)))
        {
            return services;
        }

        services.AddSingleton<DidOwnership>();
        services.AddSingleton<IDidOwnership>(sp => sp.GetRequiredService<DidOwnership>());
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<DidOwnership>());
        return services;
    }
}
