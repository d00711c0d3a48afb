namespace Vivim.Protocol.Sync;

/// <summary>What an anchor pushes to a DID's listeners. A hint only: consumers detect gaps and duplicates by seq and fill from the log.</summary>
[GenerateSerializer, Immutable, Alias("vivim.DidEvent")]
public abstract record DidEvent(string Did);
