namespace Vivim.Hosting;

/// <summary>
/// Grain references for string-keyed grains without Orleans resolving the interface again on every call: its
/// <c>GetGrain</c> reads the interface's attributes by reflection each time (a measured few percent of the gateway's CPU
/// on a read), though the answer never changes while the process runs. The first reference of each interface is made
/// the ordinary way and its grain type and interface type kept; later ones are built from them and the key.
/// </summary>
public static class ResolvedGrainTypes
{
    public static T GetResolvedGrain<T>(this IGrainFactory grains, string key)
        where T : IGrainWithStringKey
    {
        ArgumentNullException.ThrowIfNull(grains);
        if (Resolved<T>.Types is { } types)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(key);
            return (T)grains.GetGrain(GrainId.Create(types.Grain, key), types.Interface);
        }

        var reference = grains.GetGrain<T>(key);
        if (reference is GrainReference resolved)
        {
            Resolved<T>.Types = new(resolved.GrainId.Type, resolved.InterfaceType);
        }

        return reference;
    }

    private sealed record GrainTypes(GrainType Grain, GrainInterfaceType Interface);

    /// <summary>One slot per interface; a race only resolves twice, to the same answer.</summary>
    private static class Resolved<T>
    {
        public static GrainTypes? Types { get; set; }
    }
}
