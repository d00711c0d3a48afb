using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Vivim.Gateway.P2p.Gossip;
using Vivim.Gateway.P2p.Ownership;
using Vivim.Tests.Support;

namespace Vivim.Tests.Gateway.P2p;

[Collection(GatewayCollection.Name)]
public sealed class GossipHostingTests(GatewayFixture gateway)
{
    [Fact]
    public async Task AddVivimP2pGossip_runs_the_publisher_as_a_hosted_service_over_the_registered_peer_and_ownership_with_Vivim_P2p_Gossip_options()
    {
        await using var gw = await GossipGateway.StartAsync(gateway);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(gw.Peer);
        services.AddSingleton<IDidOwnership>(gw.Ownership);
        services.AddSingleton(gateway.Services.GetRequiredService<IClusterClient>());
        services.AddSingleton(gateway.Principals);
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Vivim:P2p:Gossip:IdleRepublishInterval"] = "00:00:30" })
            .Build();
        services.AddVivimP2pGossip(configuration);
        await using var provider = services.BuildServiceProvider();

        Assert.Contains(provider.GetRequiredService<CommitPublisher>(), provider.GetServices<IHostedService>());
        Assert.Equal(TimeSpan.FromSeconds(30), provider.GetRequiredService<IOptions<CommitGossipOptions>>().Value.IdleRepublishInterval);
        Assert.Same(provider.GetRequiredService<CommitValidator>(), provider.GetRequiredService<CommitValidator>());
    }
}
