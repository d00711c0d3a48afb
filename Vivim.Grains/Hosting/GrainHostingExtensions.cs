using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Vivim.Anchors;
using Vivim.ExitNodes;
using Vivim.Keys;

namespace Vivim.Hosting;

/// <summary>Registers what Vivim's grains need in a silo. Storage for the update log (an <see cref="Storage.IUpdateLog"/>) and for grain state (<see cref="VivimProviders.GrainState"/>) is the host's choice.</summary>
public static class GrainHostingExtensions
{
    public static ISiloBuilder AddVivimGrains(this ISiloBuilder silo, IConfiguration configuration)
    {
        silo.Services.AddOptions<KeyVaultOptions>().Bind(configuration.GetSection(KeyVaultOptions.Section));
        silo.Services.AddOptions<AnchorOptions>().Bind(configuration.GetSection(AnchorOptions.Section));
        silo.Services.AddOptions<ExitNodeOptions>().Bind(configuration.GetSection(ExitNodeOptions.Section));
        silo.Services.AddSingleton<KeyVault>();
        silo.Services.AddSingleton(TimeProvider.System);
        silo.AddMemoryStreams(AnchorStreams.Provider);
        return silo;
    }
}

/// <summary>Names of the providers Vivim's grains use.</summary>
public static class VivimProviders
{
    /// <summary>Grain state (anchor heads, exit nodes, clones).</summary>
    public const string GrainState = "vivim-state";
}
