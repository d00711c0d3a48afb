namespace Vivim.Gateway.P2p;

/// <summary>
/// Configuration section <c>Vivim:P2p</c>: this gateway silo's libp2p peer (docs/operations.md, "libp2p"). Lists bind
/// from indexed keys (<c>Vivim:P2p:Listen:0</c>, environment <c>Vivim__P2p__Listen__0</c>).
/// </summary>
public sealed class P2pOptions
{
    public const string Section = "Vivim:P2p";

    /// <summary>The embedded node's listen address when <see cref="Listen"/> is empty: this machine only.</summary>
    public const string EmbeddedListen = "/ip4/127.0.0.1/tcp/4001";

    /// <summary>A cluster member's listen address when <see cref="Listen"/> is empty: every interface.</summary>
    public const string ClusterListen = "/ip4/0.0.0.0/tcp/4001";

    /// <summary>False: no libp2p peer in this silo, and <c>GET /v1/p2p</c> answers 404.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>TCP multiaddrs to listen on (<c>/ip4/…/tcp/…</c>, <c>/tcp/0</c> picks a free port); empty: the default for the storage.</summary>
    public List<string> Listen { get; set; } = [];

    /// <summary>
    /// The public addresses peers should dial, without <c>/p2p/</c> and with a real port (NAT, Kubernetes); identify,
    /// advertisements and <c>GET /v1/p2p</c> name these. Empty: the bound listen addresses.
    /// </summary>
    public List<string> Announce { get; set; } = [];

    /// <summary>Peers (<c>/ip4|ip6/…/tcp/…/p2p/&lt;id&gt;</c>) dialed at start and added to the DHT. Empty by default: tests never reach the public network.</summary>
    public List<string> Bootstrap { get; set; } = [];

    /// <summary>Open connections, inbound and outbound; inbound beyond it are closed at once.</summary>
    public int MaxConnections { get; set; } = 1024;

    /// <summary>Inbound connections still in their security and muxer handshake.</summary>
    public int MaxPendingInbound { get; set; } = 128;
}
