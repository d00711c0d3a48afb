namespace Vivim.Hosting;

/// <summary>Names of the providers Vivim's grains use.</summary>
public static class VivimProviders
{
    /// <summary>Grain state (anchor heads, exit nodes, clones).</summary>
    public const string GrainState = "vivim-state";
}
