using Vivim.Gateway.P2p.Discovery;
using Vivim.Gateway.P2p.Gossip;

namespace Vivim.Gateway.P2p;

/// <summary>
/// Starts what serves this gateway's DIDs on the network — their announcement (<see cref="DidAnnouncer"/>) and their
/// commits on GossipSub (<see cref="CommitPublisher"/>) — once the libp2p peer runs, which is after the silo is active;
/// stops them before the peer stops. Both take the started <see cref="GatewayPeer"/>, so neither can be built earlier.
/// </summary>
public sealed class P2pNetworkServices(GatewayPeerService peerService, IServiceProvider services) : BackgroundService
{
    private DidAnnouncer? _announcer;
    private CommitPublisher? _publisher;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await peerService.Started.WaitAsync(stoppingToken);
        _announcer = services.GetRequiredService<DidAnnouncer>();
        _announcer.Start();
        _publisher = services.GetRequiredService<CommitPublisher>();
        await _publisher.StartAsync(stoppingToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_publisher is not null)
        {
            await _publisher.StopAsync(cancellationToken);
        }

        if (_announcer is not null)
        {
            await _announcer.StopAsync();
        }
    }
}
