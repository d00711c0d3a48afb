namespace Vivim.Hosting;

/// <summary>
/// What a silo does, published as silo metadata (<see cref="MetadataKey"/>) so that every silo can tell the gateway
/// silos (which serve the public API and libp2p) from the workers.
/// </summary>
public static class SiloRoles
{
    public const string MetadataKey = "vivim.role";

    public const string Gateway = "gateway";

    public const string Worker = "worker";
}
