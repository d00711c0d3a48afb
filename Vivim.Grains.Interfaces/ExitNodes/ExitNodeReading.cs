namespace Vivim.ExitNodes;

/// <summary>
/// The node's own part of a read: its clone count and its signed advertisement already serialized as UTF-8 JSON text
/// (the same bytes on every read until the advertisement changes). The head is the anchor's, asked alongside.
/// Immutable: the bytes are shared, not copied, between the grain and its in-process callers, and nobody writes to them.
/// </summary>
[GenerateSerializer, Immutable, Alias("vivim.ExitNodeReading")]
public sealed record ExitNodeReading(string Did, int CloneCount, byte[] AdvertisementJson);
