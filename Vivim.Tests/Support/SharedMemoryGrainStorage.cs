using System.Collections.Concurrent;
using System.Globalization;
using Orleans.Serialization;
using Orleans.Storage;
using Vivim.Storage;

namespace Vivim.Tests.Support;

/// <summary>
/// Grain state held once for a whole in-process test cluster, so that it survives killing a silo (Orleans' memory
/// storage keeps state in grains that die with their silo). ETag-checked like a real provider. Tests only.
/// </summary>
public sealed class SharedMemoryGrainStorage
{
    private readonly ConcurrentDictionary<string, (byte[] Data, int Version)> _records = new(StringComparer.Ordinal);

    /// <summary>The cluster's spent nonces, kept with its state: a new activation or a new cluster on this state sees them.</summary>
    public InMemoryNonceLedger Nonces { get; } = new();

    /// <summary>The stored bytes of a grain's state record (0 when there is none): what one state write costs.</summary>
    public int SizeOf(string stateName, GrainId grainId) =>
        _records.TryGetValue($"{grainId}/{stateName}", out var record) ? record.Data.Length : 0;

    /// <summary>The provider as one silo sees it (each silo serializes with its own serializer).</summary>
    public IGrainStorage For(Serializer serializer) => new View(this, serializer);

    private sealed class View(SharedMemoryGrainStorage store, Serializer serializer) : IGrainStorage
    {
        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            if (store._records.TryGetValue(Key(stateName, grainId), out var record))
            {
                grainState.State = serializer.Deserialize<T>(record.Data);
                grainState.ETag = record.Version.ToString(CultureInfo.InvariantCulture);
                grainState.RecordExists = true;
            }
            else
            {
                grainState.State = Activator.CreateInstance<T>();
                grainState.ETag = null;
                grainState.RecordExists = false;
            }

            return Task.CompletedTask;
        }

        public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            var key = Key(stateName, grainId);
            var data = serializer.SerializeToArray(grainState.State);
            lock (store._records)
            {
                var current = store._records.TryGetValue(key, out var record) ? record.Version.ToString(CultureInfo.InvariantCulture) : null;
                if (!string.Equals(current, grainState.ETag, StringComparison.Ordinal))
                {
                    throw new InconsistentStateException($"Version conflict writing {key}.", current ?? "none", grainState.ETag ?? "none");
                }

                var version = record.Version + 1;
                store._records[key] = (data, version);
                grainState.ETag = version.ToString(CultureInfo.InvariantCulture);
                grainState.RecordExists = true;
            }

            return Task.CompletedTask;
        }

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            var key = Key(stateName, grainId);
            lock (store._records)
            {
                var current = store._records.TryGetValue(key, out var record) ? record.Version.ToString(CultureInfo.InvariantCulture) : null;
                if (!string.Equals(current, grainState.ETag, StringComparison.Ordinal))
                {
                    throw new InconsistentStateException($"Version conflict clearing {key}.", current ?? "none", grainState.ETag ?? "none");
                }

                store._records.TryRemove(key, out _);
                grainState.ETag = null;
                grainState.RecordExists = false;
                grainState.State = Activator.CreateInstance<T>();
            }

            return Task.CompletedTask;
        }

        private static string Key(string stateName, GrainId grainId) => $"{grainId}/{stateName}";
    }
}
