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

    /// <summary>
    /// This silo's name, stable across its restarts (a StatefulSet pod's name): what keys its libp2p identity in the
    /// database. Unset: the machine's name and the silo port, which is stable where both are.
    /// </summary>
    public string? SiloName { get; set; }

    /// <summary><see cref="SiloName"/>, or its default.</summary>
    public string StableSiloName => SiloName is { Length: > 0 } name
        ? name
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Environment.MachineName}-{SiloPort}");

    /// <summary>The IP address other silos and clients reach this one at (a pod IP); Orleans picks one when unset.</summary>
    public string? AdvertisedAddress { get; set; }
}
