using Vivim.Gateway.Sync;
using Vivim.Management;

namespace Vivim.Gateway.Hosting;

/// <summary>Registers the live-session hub of a process that serves clones (a gateway): one per process.</summary>
public static class SessionHubHostingExtensions
{
    public static IServiceCollection AddVivimSessionHub(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SessionHubOptions>().Bind(configuration.GetSection(SessionHubOptions.Section));
        services.AddSingleton<SessionHub>();
        services.AddSingleton<ICloneLagSource>(sp => new HubLag(sp.GetRequiredService<SessionHub>())); // /status on the management port
        return services;
    }

    /// <summary>The hub's lag, without handing the container the hub a second time (it would dispose it twice).</summary>
    private sealed class HubLag(SessionHub hub) : ICloneLagSource
    {
        public CloneLagSnapshot Read() => hub.Read();
    }
}
