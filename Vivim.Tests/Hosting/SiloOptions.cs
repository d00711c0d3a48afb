using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Vivim.Hosting;

namespace Vivim.Tests.Hosting;

/// <summary>Options as a silo with Vivim's grains binds (and validates) them from configuration.</summary>
internal static class SiloOptions
{
    public static T Bind<T>(params (string Key, string Value)[] settings)
        where T : class
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value))).Build();
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleans(silo => silo.UseLocalhostClustering().AddVivimGrains(configuration));
        using var host = builder.Build();
        return host.Services.GetRequiredService<IOptions<T>>().Value;
    }
}
