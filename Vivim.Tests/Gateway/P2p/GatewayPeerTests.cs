using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Vivim.Gateway.P2p;
using Vivim.Libp2p.Core;
using Vivim.Tests.Libp2p;
using Vivim.Tests.Support;

namespace Vivim.Tests.Gateway.P2p;

/// <summary>
/// The gateway as a libp2p peer, seen by a real js-libp2p node that knows only <c>GET /v1/p2p</c>: it dials the
/// announced address, identify names the same peer and the same protocols, and a mounted protocol is served.
/// </summary>
public sealed class GatewayPeerTests
{
    private static readonly string[] BuiltIn = ["/ipfs/id/1.0.0", "/ipfs/id/push/1.0.0", "/ipfs/kad/1.0.0", "/ipfs/ping/1.0.0", "/meshsub/1.0.0", "/meshsub/1.1.0"];

    [Fact]
    public async Task A_js_peer_dials_the_announced_address_and_identify_agrees_with_GET_p2p_and_a_mounted_protocol_is_served()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        JsPeer.EnsureInstalled();
        await using var bootstrap = await JsPeer.StartAsync(cts.Token, "peer.mjs", "--dht");
        var data = Directory.CreateTempSubdirectory("vivim-p2p-").FullName;
        var port = FreePort.Next().ToString(CultureInfo.InvariantCulture);
        string[] announce = ["/ip4/127.0.0.1/tcp/" + port, "/ip4/203.0.113.7/tcp/4001"];
        try
        {
            await using var gateway = await P2pTestGateway.StartAsync(
                data,
                [
                    "--Vivim:P2p:Listen:0", "/ip4/127.0.0.1/tcp/" + port,
                    "--Vivim:P2p:Announce:0", announce[0],
                    "--Vivim:P2p:Announce:1", announce[1],
                    "--Vivim:P2p:Bootstrap:0", WithPeerId(bootstrap.Addrs[0], bootstrap.PeerId),
                ],
                builder => builder.Services.AddSingleton<IP2pProtocol, EchoTestProtocol>());

            var (peerId, multiaddrs, protocols) = await gateway.GetP2pAsync();
            var peer = gateway.Services.GetRequiredService<GatewayPeer>();
            Assert.Equal(peer.PeerId.ToString(), peerId);
            Assert.Equal(announce, multiaddrs);
            Assert.Equal(protocols.Order(StringComparer.Ordinal), protocols);
            Assert.Superset(new HashSet<string>([.. BuiltIn, EchoTestProtocol.Id]), new HashSet<string>(protocols));
            Assert.Superset(gateway.Services.GetServices<IP2pProtocol>().Select(p => p.ProtocolId).ToHashSet(), new HashSet<string>(protocols));

            await using var js = await JsPeer.StartAsync(cts.Token, "peer.mjs");
            var dialed = await js.CommandAsync(new JsonObject { ["cmd"] = "dial", ["addr"] = multiaddrs[0] + "/p2p/" + peerId }, cts.Token);
            Assert.Equal(peerId, dialed["peerId"]!.GetValue<string>());

            var identify = await js.CommandAsync(new JsonObject { ["cmd"] = "identify", ["peer"] = peerId }, cts.Token);
            Assert.Equal(peerId, identify["peerId"]!.GetValue<string>());
            Assert.Equal(protocols, identify["protocols"]!.AsArray().Select(p => p!.GetValue<string>()).Order(StringComparer.Ordinal));
            Assert.Equal(announce, identify["listenAddrs"]!.AsArray().Select(a => a!.GetValue<string>()));

            var echo = await js.CommandAsync(new JsonObject { ["cmd"] = "echo", ["peer"] = peerId, ["protocol"] = EchoTestProtocol.Id, ["streams"] = 2, ["bytesPerStream"] = 100_000 }, cts.Token);
            foreach (var result in echo["results"]!.AsArray())
            {
                Assert.Equal(100_000, result!["bytes"]!.GetValue<int>());
                Assert.Equal(result["sent"]!.GetValue<string>(), result["received"]!.GetValue<string>());
            }

            // The bootstrap peer was dialed at start and is in the DHT's routing table.
            var bootstrapPeer = PeerId.Parse(bootstrap.PeerId);
            while (peer.Dht.RoutingTable.Find(bootstrapPeer) is null)
            {
                await Task.Delay(50, cts.Token);
            }

            Assert.NotNull(peer.Host.GetConnection(bootstrapPeer));
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task Without_announce_addresses_GET_p2p_names_the_bound_port_and_the_ready_notice_says_where_libp2p_listens()
    {
        var data = Directory.CreateTempSubdirectory("vivim-p2p-").FullName;
        try
        {
            await using var gateway = await P2pTestGateway.StartAsync(data);
            var (peerId, multiaddrs, _) = await gateway.GetP2pAsync();
            var address = Multiaddr.Parse(Assert.Single(multiaddrs));
            Assert.Null(address.PeerId);
            Assert.NotEqual(0, address.ToTcpEndPoint()!.Port);
            Assert.Equal(gateway.PeerService.Peer!.Host.ListenAddresses, [address]);

            var notice = gateway.Services.GetRequiredService<Vivim.Gateway.Hosting.NodeReadyNotice>().Describe([gateway.BaseAddress.ToString()]);
            Assert.Contains("  libp2p:       " + address + "/p2p/" + peerId, notice, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    private static string WithPeerId(string address, string peerId) =>
        address.Contains("/p2p/", StringComparison.Ordinal) ? address : address + "/p2p/" + peerId;
}
