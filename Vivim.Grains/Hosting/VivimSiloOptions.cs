using Orleans.Configuration;

namespace Vivim.Hosting;

/// <summary>The <c>Vivim</c> configuration section as far as the silo uses it.</summary>
public sealed class VivimSiloOptions
{
    public const string Section = "Vivim";

    public int SiloPort { get; set; } = EndpointOptions.DEFAULT_SILO_PORT;

    public int GatewayPort { get; set; } = EndpointOptions.DEFAULT_GATEWAY_PORT;

    public string ServiceId { get; set; } = "vivim";

    public string ClusterId { get; set; } = "vivim-local";

    /// <summary>The embedded node's data directory (SQLite files, its key-encryption key); created on first run.</summary>
    public string DataPath { get; set; } = "data";

    /// <summary>The IP address other silos and clients reach this one at (a pod IP); Orleans picks one when unset.</summary>
    public string? AdvertisedAddress { get; set; }
}
