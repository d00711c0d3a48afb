namespace Vivim.ExitNodes;

/// <summary>
/// The one cluster-wide stream of <see cref="HostedDidChange"/> notices (on the <see cref="Feeds.DidStreams.Provider"/>
/// provider). A notice can be lost when a silo dies, so readers also rescan the hosted-DID directory now and then.
/// </summary>
public static class HostedDidStreams
{
    public const string Namespace = "hosted-dids";

    public static StreamId All { get; } = StreamId.Create(Namespace, "all");
}
