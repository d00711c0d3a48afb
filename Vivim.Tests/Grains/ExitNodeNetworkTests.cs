using Vivim.ExitNodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Tests.Support;
using static Vivim.Tests.Grains.ExitNodeTestKit;

namespace Vivim.Tests.Grains;

/// <summary>The network fields the owning gateway sets: advertised, re-signed only when they change, named by registrations.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ExitNodeNetworkTests(ClusterFixture fixture)
{
    private const string PeerA = "12D3KooWAJjbRkp8FPF5MKgMU53aUTxWkqvDrs4zc1VMbwRwfsbE";
    private const string PeerB = "12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK";

    private IGrainFactory Grains => fixture.Client;

    [Fact]
    public async Task The_advertisement_names_the_owning_peer_and_is_re_signed_only_when_peer_or_addresses_change()
    {
        var (key, node, _) = await CreateNodeAsync(Grains);
        var network = new ExitNodeNetwork(PeerA, ["/ip4/10.0.0.1/tcp/4001", "/ip4/10.0.0.2/tcp/4001"], "https://a.example");

        var signed = await node.SetNetworkAsync(network);
        Assert.Equal(PeerA, signed.PeerId);
        Assert.Equal(network.Multiaddrs, signed.Multiaddrs);
        Assert.True(SignatureV2.Verify(SignedKind.ExitNodeAdvertisement, ProtocolModel.ToJsonObject(signed), key.PublicKey));
        Assert.Equal(ProtocolModel.ToJson(signed), ProtocolModel.ToJson(await node.GetAdvertisementAsync()));

        // The same fields (a new list with equal contents), or only a new API URL: nothing is signed again.
        Assert.Equal(signed.Proof, (await node.SetNetworkAsync(network with { Multiaddrs = [.. network.Multiaddrs] })).Proof);
        Assert.Equal(signed.Proof, (await node.SetNetworkAsync(network with { ApiUrl = "https://a2.example" })).Proof);

        var moved = await node.SetNetworkAsync(new ExitNodeNetwork(PeerB, ["/ip4/10.0.0.3/tcp/4001"], "https://b.example"));
        Assert.Equal(PeerB, moved.PeerId);
        Assert.Equal(["/ip4/10.0.0.3/tcp/4001"], moved.Multiaddrs);
        Assert.NotEqual(signed.Proof, moved.Proof);
        Assert.True(SignatureV2.Verify(SignedKind.ExitNodeAdvertisement, ProtocolModel.ToJsonObject(moved), DidKey.Parse(moved.Did).PublicKey));
    }

    [Fact]
    public async Task A_registration_answer_names_the_owning_gateways_http_base_url_and_libp2p_address()
    {
        var (_, node, _) = await CreateNodeAsync(Grains);
        await node.SetNetworkAsync(new ExitNodeNetwork(PeerA, ["/ip4/10.0.0.1/tcp/4001"], "https://gw.example"));
        using var clone = SigningKey.Generate();

        var response = await RegisterAsync(node, clone);

        Assert.True(response.Approved, response.DenialReason);
        Assert.Equal(new CloneEndpoints("https://gw.example", "/ip4/10.0.0.1/tcp/4001/p2p/" + PeerA), response.Endpoints);
    }

    [Theory]
    [InlineData("", "/ip4/10.0.0.1/tcp/4001", "")]
    [InlineData(PeerA, "/ip4/10.0.0.1/tcp/4001/p2p/" + PeerA, "")]
    [InlineData(PeerA, "ip4/10.0.0.1", "")]
    [InlineData(PeerA, "/ip4/10.0.0.1/tcp/4001", "not a url")]
    public async Task Bad_network_fields_are_refused(string peerId, string address, string apiUrl)
    {
        var (_, node, advertisement) = await CreateNodeAsync(Grains);
        await Assert.ThrowsAsync<ArgumentException>(() => node.SetNetworkAsync(new ExitNodeNetwork(peerId, [address], apiUrl)));
        Assert.Equal(ProtocolModel.ToJson(advertisement), ProtocolModel.ToJson(await node.GetAdvertisementAsync()));
    }
}
