namespace Vivim.Feeds;

/// <summary>
/// Where a DID's events flow: one stream per DID (<see cref="For"/>) on the <see cref="Provider"/> provider. Its anchor
/// publishes commits there and its exit node the revocation of a clone's access.
/// </summary>
public static class DidStreams
{
    public const string Provider = "vivim";
    public const string Namespace = "did";

    public static StreamId For(string did) => StreamId.Create(Namespace, did);
}
