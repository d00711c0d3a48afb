namespace Vivim.Protocol.Sync;

/// <summary>What flows on a DID's stream. A hint only: consumers detect gaps and duplicates by seq and fill from the log.</summary>
[GenerateSerializer, Immutable, Alias("vivim.AnchorEvent")]
public abstract record AnchorEvent(string Did);
