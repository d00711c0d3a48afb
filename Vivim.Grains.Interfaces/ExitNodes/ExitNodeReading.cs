namespace Vivim.ExitNodes;

/// <summary>
/// What a read of the node answers with: its info and head, and its signed advertisement already serialized as UTF-8
/// JSON text (the same bytes on every read until the advertisement changes). Immutable: the bytes are shared, not
/// copied, between the grain and its in-process callers, and nobody writes to them.
/// </summary>
[GenerateSerializer, Immutable, Alias("vivim.ExitNodeReading")]
public sealed record ExitNodeReading(ExitNodeInfo Info, byte[] AdvertisementJson);
