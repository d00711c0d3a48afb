namespace Vivim.Protocol.Sync;

/// <summary>Why update <see cref="Index"/> of a batch was refused; <see cref="Code"/> is stable (see <see cref="RejectionCodes"/>).</summary>
[GenerateSerializer, Immutable, Alias("vivim.UpdateRejection")]
public sealed record UpdateRejection(int Index, string? UpdateId, string Code, string Reason);
