namespace Vivim.Feeds;

/// <summary>
/// The cluster's Orleans stream provider (memory streams). A DID's commits do not flow on it: anchors push them to
/// listeners (<see cref="IDidListener"/>); it carries the rare cluster-wide notices such as
/// <see cref="ExitNodes.HostedDidStreams"/>.
/// </summary>
public static class DidStreams
{
    public const string Provider = "vivim";
}
