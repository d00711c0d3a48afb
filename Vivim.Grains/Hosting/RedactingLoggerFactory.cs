using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Vivim.Hosting;

/// <summary>
/// The host's logger factory, with every logger it makes masking secret query values (<see cref="RedactingLogger"/>).
/// Masking here, below every category and provider, covers lines we do not write: ASP.NET Core's hosting diagnostics
/// ("Request starting … ?ticket=…" at Information) log the full request target before any middleware runs, and a log
/// level raised in configuration must not bring a ticket back.
/// </summary>
public sealed class RedactingLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new RedactingLogger(inner.CreateLogger(categoryName));

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose() => inner.Dispose();

    /// <summary>Wraps the registered <see cref="ILoggerFactory"/> (the framework's, unless replaced) in a redacting one.</summary>
    public static IServiceCollection Install(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var registered = services.LastOrDefault(d => d.ServiceType == typeof(ILoggerFactory));
        if (registered is null)
        {
            services.AddLogging();
            registered = services.Last(d => d.ServiceType == typeof(ILoggerFactory));
        }

        if (services.Any(d => d.ServiceType == typeof(RedactingLoggerFactory)))
        {
            return services; // installed already
        }

        services.RemoveAll<ILoggerFactory>();
        services.AddSingleton(sp => new RedactingLoggerFactory(Create(sp, registered)));
        services.AddSingleton<ILoggerFactory>(sp => sp.GetRequiredService<RedactingLoggerFactory>());
        return services;
    }

    private static ILoggerFactory Create(IServiceProvider services, ServiceDescriptor registered) => registered switch
    {
        { ImplementationInstance: ILoggerFactory instance } => instance,
        { ImplementationFactory: { } factory } => (ILoggerFactory)factory(services),
        { ImplementationType: { } type } when type == typeof(LoggerFactory) => new LoggerFactory(
            services.GetServices<ILoggerProvider>(),
            services.GetRequiredService<IOptionsMonitor<LoggerFilterOptions>>(),
            services.GetService<IOptions<LoggerFactoryOptions>>(),
            services.GetService<IExternalScopeProvider>()),
        { ImplementationType: { } type } => (ILoggerFactory)ActivatorUtilities.CreateInstance(services, type),
        _ => throw new InvalidOperationException("The registered logger factory cannot be wrapped."),
    };
}
