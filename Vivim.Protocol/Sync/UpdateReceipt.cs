namespace Vivim.Protocol.Sync;

[GenerateSerializer, Immutable, Alias("vivim.UpdateReceipt")]
public sealed record UpdateReceipt(string UpdateId, long Seq, string Root);
