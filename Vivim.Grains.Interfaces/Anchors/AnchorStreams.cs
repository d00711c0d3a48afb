namespace Vivim.Anchors;

/// <summary>Where anchors publish: one stream per DID (stream id: <see cref="Namespace"/>, the DID) on the <see cref="Provider"/> provider.</summary>
public static class AnchorStreams
{
    public const string Provider = "vivim";
    public const string Namespace = "anchor";
}
