using Orleans.Storage;

namespace Vivim.Hosting;

/// <summary>
/// Where each grain state lives on Azure Storage, by state name: in Table storage when it is small and bounded, in
/// Blob storage when it can grow past what one table entity holds (Orleans' table provider fails past about 960 KiB,
/// Azurite near 750 KiB). The figures behind the choice are in docs/operations.md ("Azure Storage") and are re-measured
/// by <c>GrainStateSizeTests</c>. A state name not listed goes to Blob storage, which has no such limit.
/// </summary>
public static class AzureGrainStatePlacement
{
    /// <summary>States bounded far below the table limit: a clone's registration, sync config and cursor (well under 1 KiB).</summary>
    public static readonly IReadOnlySet<string> TableStates = new HashSet<string>(StringComparer.Ordinal) { "clone" };

    /// <summary>True when <paramref name="stateName"/> is kept in Table storage, false for Blob storage.</summary>
    public static bool InTable(string stateName) => TableStates.Contains(stateName);
}

/// <summary>One grain storage name over the two Azure providers, each state sent where <see cref="AzureGrainStatePlacement"/> puts it.</summary>
public sealed class PlacedAzureGrainStorage(IGrainStorage tables, IGrainStorage blobs) : IGrainStorage
{
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        For(stateName).ReadStateAsync(stateName, grainId, grainState);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        For(stateName).WriteStateAsync(stateName, grainId, grainState);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        For(stateName).ClearStateAsync(stateName, grainId, grainState);

    private IGrainStorage For(string stateName) => AzureGrainStatePlacement.InTable(stateName) ? tables : blobs;
}
