using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Vivim.Gateway.P2p;
using Vivim.Gateway.P2p.Gossip;
using Vivim.Libp2p.Host;
using Vivim.Libp2p.Protocols.Kad;
using Vivim.Libp2p.Protocols.Pubsub;
using Vivim.Security;
using Vivim.Tests.Libp2p;
using Vivim.Tests.Support;

namespace Vivim.Tests.Gateway.P2p;

/// <summary>
/// A gateway silo's libp2p side as a test builds it over the fixture's cluster: a real host on loopback with Kad-DHT
/// and GossipSub, the commit publisher and validator, and an ownership the test controls.
/// </summary>
internal sealed class GossipGateway : IAsyncDisposable
{
    private GossipGateway(GatewayPeer peer, CommitPublisher publisher, CommitValidator validator, KnownExitNodes exitNodes)
    {
        Peer = peer;
        Publisher = publisher;
        Validator = validator;
        ExitNodes = exitNodes;
    }

    public GatewayPeer Peer { get; }

    public TestDidOwnership Ownership { get; } = new();

    public CommitPublisher Publisher { get; private set; }

    public CommitValidator Validator { get; }

    public KnownExitNodes ExitNodes { get; }

    public GossipSub Pubsub => Peer.Pubsub;

    /// <summary>The address a js peer dials, with <c>/p2p/</c>.</summary>
    public string Address => Peer.Host.ListenAddresses[0].WithPeerId(Peer.PeerId).ToString();

    public static async Task<GossipGateway> StartAsync(GatewayFixture fixture, TimeProvider? publisherClock = null, CommitGossipOptions? options = null)
    {
        var host = new Libp2pHostBuilder().ListenOn("/ip4/127.0.0.1/tcp/0").Build();
        var dht = new KadDht(host);
        var pubsub = new GossipSub(host, GossipSubTests.FastOptions());
        await host.StartAsync();
        var peer = new GatewayPeer(host, dht, pubsub);
        var services = fixture.Services;
        var client = services.GetRequiredService<IClusterClient>();
        var principals = services.GetRequiredService<CallPrincipals>();
        var clock = publisherClock ?? TimeProvider.System;
        var gossipOptions = Options.Create(options ?? new CommitGossipOptions());
        var exitNodes = new KnownExitNodes(client, gossipOptions, TimeProvider.System, NullLogger<KnownExitNodes>.Instance, principals);
        var validator = new CommitValidator(exitNodes, NullLogger<CommitValidator>.Instance);
        var gateway = new GossipGateway(peer, null!, validator, exitNodes);
        gateway.Publisher = new CommitPublisher(peer, gateway.Ownership, client, validator, exitNodes, gossipOptions, clock, NullLogger<CommitPublisher>.Instance, principals);
        await gateway.Publisher.StartAsync(CancellationToken.None);
        return gateway;
    }

    /// <summary>Waits until the publisher follows <paramref name="did"/> (a subscriber is there and the head went out).</summary>
    public Task PublishingAsync(string did) =>
        Until.TrueAsync(() => Publisher.PublishingDids.Contains(did), () => $"{Peer.PeerId} does not publish {did}", JsGossipPeer.JsPatience);

    public async ValueTask DisposeAsync()
    {
        await Publisher.StopAsync(CancellationToken.None);
        await Peer.Pubsub.DisposeAsync();
        Peer.Dht.Dispose();
        await Peer.Host.DisposeAsync();
    }
}
