using Vivim.Protocol.Model;

namespace Vivim.Anchors;

/// <summary>Where anchors publish: one stream per DID (stream id: <see cref="Namespace"/>, the DID) on the <see cref="Provider"/> provider.</summary>
public static class AnchorStreams
{
    public const string Provider = "vivim";
    public const string Namespace = "anchor";
}

/// <summary>What flows on a DID's stream. A hint only: consumers detect gaps and duplicates by seq and fill from the log.</summary>
[GenerateSerializer, Immutable, Alias("vivim.AnchorEvent")]
public abstract record AnchorEvent(string Did);

/// <summary>A commit and the updates it covers, in seq order.</summary>
[GenerateSerializer, Immutable, Alias("vivim.CommittedBatch")]
public sealed record CommittedBatch(string Did, Commit Commit, IReadOnlyList<StateUpdate> Updates) : AnchorEvent(Did);

/// <summary>A clone lost access (suspended, removed or deregistered): its live sessions close at once.</summary>
[GenerateSerializer, Immutable, Alias("vivim.CloneAccessRevoked")]
public sealed record CloneAccessRevoked(string Did, string CloneId, string Reason) : AnchorEvent(Did);
