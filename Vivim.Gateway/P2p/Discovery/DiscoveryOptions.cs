namespace Vivim.Gateway.P2p.Discovery;

/// <summary>The part of <c>Vivim:P2p</c> that paces DHT announcements.</summary>
public sealed class DiscoveryOptions
{
    public const string Section = "Vivim:P2p";

    /// <summary>
    /// At most this many provides (ADD_PROVIDER rounds, one per key) a second, so that taking on 100,000 DIDs at start
    /// does not flood the network: each DID has two keys of its own; capability keys are shared by all DIDs.
    /// </summary>
    public double ProvidesPerSecond { get; set; } = 100;

    /// <summary>Keys waiting to be provided; when full, taking on more DIDs waits for room.</summary>
    public int ProvideQueueCapacity { get; set; } = 4096;

    /// <summary>Provider records live 48 h on the DHT; each key is provided again after this long.</summary>
    public TimeSpan ReprovideInterval { get; set; } = TimeSpan.FromHours(22);

    /// <summary>How often the announce addresses are compared with the advertised ones (a changed address re-signs).</summary>
    public TimeSpan AddressCheckInterval { get; set; } = TimeSpan.FromSeconds(30);
}
