namespace Vivim.Protocol.Sync;

[GenerateSerializer, Immutable, Alias("vivim.SubmitResult")]
public sealed record SubmitResult(SubmitOutcome Outcome, IReadOnlyList<UpdateReceipt> Receipts, IReadOnlyList<UpdateRejection> Rejections);
