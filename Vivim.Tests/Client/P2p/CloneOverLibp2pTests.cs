using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Vivim.Client.P2p;
using Vivim.Client.Registration;
using Vivim.Client.Sync;
using Vivim.Gateway.P2p.Gossip;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Libp2p.Protocols.Kad;
using Vivim.Libp2p.Protocols.Pubsub;
using Vivim.Protocol.Identity;
using Vivim.Tests.Support;
using static Vivim.Tests.Gateway.GatewayTestKit;

namespace Vivim.Tests.Client.P2p;

/// <summary>
/// A <c>Vivim.Client</c> clone that knows a DID and the gateway's libp2p address only: finds the exit node on the DHT,
/// registers over <c>/vivim/clone</c> with its DID key as its libp2p identity, and stays current from GossipSub notices
/// and <c>/vivim/sync</c> pulls, every root reproduced.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class CloneOverLibp2pTests(GatewayFixture gateway)
{
    [Fact]
    public async Task A_clone_that_knows_only_the_DID_and_the_gateway_address_discovers_registers_and_syncs_live()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = cts.Token;
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);
        await gateway.ServedOnLibp2pAsync(did);
        using var http = gateway.CreateClient();
        var p2p = (await http.GetFromJsonAsync<JsonObject>("/v1/p2p", ct))!;
        var gatewayAddress = Multiaddr.Parse(p2p["multiaddrs"]![0]!.GetValue<string>() + "/p2p/" + p2p["peerId"]!.GetValue<string>());

        using var key = SigningKey.Generate();
        await using var host = new Libp2pHostBuilder().WithIdentitySeed(key.ExportSeed()).ListenOn("/ip4/127.0.0.1/tcp/0").Build();
        using var dht = new KadDht(host);
        await using var pubsub = new GossipSub(host);
        await host.StartAsync(ct);
        await host.DialAsync(gatewayAddress, ct);
        await Until.TrueAsync(() => dht.RoutingTable.Count > 0, () => "the gateway never entered the clone's routing table");

        // Discovery on the DHT: the provider's advertisement names it.
        var (advertisement, found) = await P2pDiscovery.FindExitNodeAsync(host, dht, did, ct);
        Assert.Equal(p2p["peerId"]!.GetValue<string>(), advertisement.PeerId);

        var registration = await CloneRegistrationFlow.RunAsync(new P2pExitNode(host, found), did, key, null, null, TimeProvider.System, ct);
        Assert.True(registration.Response.Approved);

        var transport = new P2pSyncTransport(host, found, registration.CloneId, did, pubsub);
        await using var sync = new SyncProtocol(did, new SyncConfig(SyncInterval: 3_600_000, MaxBatchSize: 7), transport);
        await sync.LoadSnapshotAsync(registration.Response.InitialState!, ct);
        await sync.StartAsync(ct);
        var publisher = gateway.Services.GetRequiredService<CommitPublisher>();
        await Until.TrueAsync(() => publisher.PublishingDids.Contains(did), () => "the gateway never started publishing the DID's commits for the clone");

        long head = 0;
        for (var i = 0; i < 30; i++)
        {
            head = await WriteAsync(gateway, apiKey, did, ($"memoryIndex/p2p/{i}", $$"""{"i":{{i}}}"""));
        }

        await Until.TrueAsync(() => sync.Replica.Cursor == head, () => $"the clone is at {sync.Replica.Cursor}, the head is {head}");
        using (gateway.Principals.Enter(Vivim.Security.CallPrincipal.Operator))
        {
            var anchorHead = await gateway.Grains.GetGrain<Vivim.Anchors.IAnchorStateGrain>(did).GetHeadAsync();
            Assert.Equal(anchorHead.Root, sync.Replica.Root);
        }
    }
}
