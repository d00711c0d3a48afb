using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Vivim.Storage;

namespace Vivim.Telemetry;

/// <summary>Wraps the registered <see cref="IUpdateLog"/>, whichever backend it is, in an <see cref="InstrumentedUpdateLog"/>.</summary>
public static class UpdateLogInstrumentation
{
    /// <summary>The key the undecorated log stays registered under (the container still owns and disposes it).</summary>
    public const string InnerKey = "vivim-update-log-backend";

    public static IServiceCollection AddUpdateLogInstrumentation(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var registered = services.LastOrDefault(d => d.ServiceType == typeof(IUpdateLog) && !d.IsKeyedService);
        if (registered is null || services.Any(d => d.IsKeyedService && Equals(d.ServiceKey, InnerKey)))
        {
            return services; // nothing to wrap, or wrapped already
        }

        services.Remove(registered);
        services.Add(registered switch
        {
            { ImplementationInstance: { } instance } => new ServiceDescriptor(typeof(IUpdateLog), InnerKey, instance),
            { ImplementationFactory: { } factory } => new ServiceDescriptor(typeof(IUpdateLog), InnerKey, (sp, _) => factory(sp), registered.Lifetime),
            _ => new ServiceDescriptor(typeof(IUpdateLog), InnerKey, registered.ImplementationType!, registered.Lifetime),
        });
        services.Add(new ServiceDescriptor(typeof(IUpdateLog), sp =>
        {
            var inner = sp.GetRequiredKeyedService<IUpdateLog>(InnerKey);
            return new InstrumentedUpdateLog(inner, InstrumentedUpdateLog.BackendOf(inner));
        }, registered.Lifetime));

        // Once the host has started (storage migrated), so that the log's error series exist at zero from the start.
        services.AddHostedService<Declaration>();
        return services;
    }

    private sealed class Declaration(IServiceProvider services, IHostApplicationLifetime lifetime) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            lifetime.ApplicationStarted.Register(() => services.GetService<IUpdateLog>());
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
