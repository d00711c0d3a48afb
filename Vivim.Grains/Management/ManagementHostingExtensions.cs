using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Orleans.Dashboard;
using Vivim.Security;

namespace Vivim.Management;

/// <summary>Composition of the management port (<see cref="ManagementServer"/>) and the Orleans dashboard behind it.</summary>
public static class ManagementHostingExtensions
{
    /// <summary>Registers the management port when <paramref name="settings"/> enable it. Call after <c>UseOrleans</c>.</summary>
    public static IHostApplicationBuilder AddVivimManagement(this IHostApplicationBuilder builder, ManagementSettings settings, string role)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(settings);
        builder.Services.AddSingleton(settings);
        builder.Services.TryAddSingleton<OperatorKey>();
        if (!settings.Enabled)
        {
            return builder;
        }

        // What a web host registers and the pipeline's middleware needs, for a host without one (Vivim.Silo).
        builder.Services.AddRouting();
        builder.Services.TryAddSingleton(_ => new DiagnosticListener("Microsoft.AspNetCore"));
        builder.Services.TryAddSingleton<DiagnosticSource>(sp => sp.GetRequiredService<DiagnosticListener>());
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(new ManagementRole(role));
        builder.Services.AddSingleton<ManagementStatus>();
        builder.Services.AddSingleton<ManagementServer>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ManagementServer>());
        return builder;
    }

    /// <summary>
    /// The Orleans dashboard's silo services, when enabled. Its start-up service activates the dashboard's grain from
    /// outside any grain, which the principal filter refuses without a principal: it starts as the operator here.
    /// The live log stream (<c>/dashboard/Trace</c>) stays off.
    /// </summary>
    public static ISiloBuilder AddVivimDashboard(this ISiloBuilder silo, ManagementSettings settings)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(settings);
        if (!settings.Dashboard)
        {
            return silo;
        }

        var services = silo.Services;
        var before = services.Count;
        silo.AddDashboard(o => o.HideTrace = true);
        for (var i = before; i < services.Count; i++)
        {
            if (services[i] is { ServiceType: var type, IsKeyedService: false } hosted && type == typeof(IHostedService))
            {
                services[i] = ServiceDescriptor.Singleton<IHostedService>(sp => new OperatorHostedService(Create(sp, hosted), sp.GetRequiredService<CallPrincipals>()));
            }
        }

        return silo;
    }

    private static IHostedService Create(IServiceProvider services, ServiceDescriptor descriptor) => descriptor switch
    {
        { ImplementationInstance: IHostedService instance } => instance,
        { ImplementationFactory: { } factory } => (IHostedService)factory(services),
        _ => (IHostedService)ActivatorUtilities.CreateInstance(services, descriptor.ImplementationType!),
    };

    /// <summary>Runs a hosted service's start as the operator (its grain calls carry the operator's principal).</summary>
    private sealed class OperatorHostedService(IHostedService inner, CallPrincipals principals) : IHostedService, IAsyncDisposable
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            using (principals.Enter(CallPrincipal.Operator))
            {
                await inner.StartAsync(cancellationToken);
            }
        }

        public Task StopAsync(CancellationToken cancellationToken) => inner.StopAsync(cancellationToken);

        public async ValueTask DisposeAsync()
        {
            switch (inner)
            {
                case IAsyncDisposable asyncDisposable:
                    await asyncDisposable.DisposeAsync();
                    break;
                case IDisposable disposable:
                    disposable.Dispose();
                    break;
            }
        }
    }
}
