using Vivim.Gateway.P2p;
using Vivim.Libp2p.Host;
using Vivim.Libp2p.Protocols.Kad;
using Vivim.Libp2p.Protocols.Pubsub;

namespace Vivim.Tests.Gateway.P2p;

/// <summary>
/// A gateway's libp2p peer built the way the gateway builds it (loopback, an ephemeral port, Kad-DHT in server mode
/// whose republishing is left to the gateway's paced announcer), until the host's own composition is merged.
/// </summary>
internal sealed class TestGatewayPeer : IAsyncDisposable
{
    private TestGatewayPeer(GatewayPeer peer) => Peer = peer;

    public GatewayPeer Peer { get; }

    public static async Task<TestGatewayPeer> StartAsync()
    {
        var host = new Libp2pHostBuilder().ListenOn("/ip4/127.0.0.1/tcp/0").Build();
        var dht = new KadDht(host, new KadOptions { ServerMode = true, ProviderRepublishInterval = TimeSpan.Zero });
        var pubsub = new GossipSub(host);
        await host.StartAsync();
        return new TestGatewayPeer(new GatewayPeer(host, dht, pubsub));
    }

    public async ValueTask DisposeAsync()
    {
        await Peer.Pubsub.DisposeAsync();
        Peer.Dht.Dispose();
        await Peer.Host.DisposeAsync();
    }
}
