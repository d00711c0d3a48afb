using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Hosting;

namespace Vivim.Hosting;

/// <summary>Composition of a Vivim silo, shared by the worker host (Vivim.Silo) and the gateway host.</summary>
public static class SiloHostingExtensions
{
    /// <summary>
    /// Configures the silo from the <c>Vivim</c> configuration section. Today only the embedded, single-machine cluster
    /// exists (localhost clustering on <c>Vivim:SiloPort</c> / <c>Vivim:GatewayPort</c>); production clustering arrives
    /// with the storage work.
    /// </summary>
    public static IHostApplicationBuilder AddVivimSilo(this IHostApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(VivimSiloOptions.Section).Get<VivimSiloOptions>() ?? new VivimSiloOptions();
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort, serviceId: options.ServiceId, clusterId: options.ClusterId);
            silo.Configure<EndpointOptions>(o => o.AdvertisedIPAddress = IPAddress.Loopback);
        });
        return builder;
    }
}

/// <summary>The <c>Vivim</c> configuration section as far as the silo uses it.</summary>
public sealed class VivimSiloOptions
{
    public const string Section = "Vivim";

    public int SiloPort { get; set; } = EndpointOptions.DEFAULT_SILO_PORT;

    public int GatewayPort { get; set; } = EndpointOptions.DEFAULT_GATEWAY_PORT;

    public string ServiceId { get; set; } = "vivim";

    public string ClusterId { get; set; } = "vivim-local";
}
