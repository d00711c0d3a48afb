namespace Vivim.Protocol.Sync;

/// <summary>What flows on a DID's stream. A hint only: consumers detect gaps and duplicates by seq and fill from the log.</summary>
[GenerateSerializer, Immutable, Alias("vivim.DidEvent")]
public abstract record DidEvent(string Did);
