using Orleans.Storage;

namespace Vivim.Storage.Copy;

/// <summary>
/// A grain state as its provider stored it: the bytes Orleans' serializer made of it. Every Vivim provider serializes
/// with that one serializer, so the bytes read from one store are the state another store must hold.
/// </summary>
public sealed class RawGrainState
{
    public byte[] Bytes { get; set; } = [];
}

/// <summary>Hands a provider <see cref="RawGrainState"/> bytes unchanged, both ways.</summary>
public sealed class RawGrainStateSerializer : IGrainStorageSerializer
{
    public BinaryData Serialize<T>(T? input) => input is RawGrainState raw
        ? BinaryData.FromBytes(raw.Bytes)
        : throw new InvalidOperationException($"Only {nameof(RawGrainState)} is copied as it is, not {typeof(T).Name}.");

    public T Deserialize<T>(BinaryData input) => typeof(T) == typeof(RawGrainState)
        ? (T)(object)new RawGrainState { Bytes = input.ToArray() }
        : throw new InvalidOperationException($"Only {nameof(RawGrainState)} is copied as it is, not {typeof(T).Name}.");
}
