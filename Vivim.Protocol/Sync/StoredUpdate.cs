namespace Vivim.Protocol.Sync;

/// <summary>
/// A committed update as the log stores it: its <c>seq</c> and its JSON text (the <c>StateUpdate</c> with <c>seq</c>
/// and <c>merkleProof</c>), which the gateway writes to clones unchanged.
/// </summary>
[GenerateSerializer, Immutable, Alias("vivim.StoredUpdate")]
public sealed record StoredUpdate(long Seq, string Json);
