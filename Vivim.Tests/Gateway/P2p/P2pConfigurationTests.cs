using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Vivim.Gateway.Hosting;
using Vivim.Gateway.P2p;
using Vivim.Hosting;
using Vivim.Tests.Support;

namespace Vivim.Tests.Gateway.P2p;

/// <summary><c>Vivim:P2p</c> at start: disabled means no peer and a 404, bad settings and a taken port fail clearly.</summary>
public sealed class P2pConfigurationTests
{
    [Fact]
    public async Task With_libp2p_disabled_there_is_no_peer_and_GET_p2p_answers_a_404_problem_saying_so()
    {
        var data = Directory.CreateTempSubdirectory("vivim-p2p-off-").FullName;
        try
        {
            // The default port is not even checked when disabled: a holder of it does not matter.
            await using var gateway = await P2pTestGateway.StartAsync(data, ["--Vivim:P2p:Enabled", "false", "--Vivim:P2p:Listen:0", "/ip4/127.0.0.1/tcp/4001"]);
            Assert.False(gateway.PeerService.Enabled);
            Assert.Null(gateway.PeerService.Peer);

            using var http = gateway.CreateClient();
            using var response = await http.GetAsync(new Uri("/v1/p2p", UriKind.Relative));
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.Equal("not-found", problem["code"]!.GetValue<string>());
            Assert.Contains("libp2p is disabled", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Theory]
    [InlineData("Listen:0", "/ip4/127.0.0.1/udp/4001", "only /ip4/<address>/tcp/<port>")]
    [InlineData("Listen:0", "not-a-multiaddr", "not a multiaddr")]
    [InlineData("Announce:0", "/ip4/203.0.113.7/tcp/0", "/tcp/0")]
    [InlineData("Announce:0", "/ip4/203.0.113.7/tcp/4001/p2p/12D3KooWLZXTVeSvNvNTAHr4SUFmcBgfmnW5TL2HH8YhA3VpsHW1", "without /p2p/")]
    [InlineData("Bootstrap:0", "/ip4/203.0.113.7/tcp/4001", "/p2p/<peer id>")]
    [InlineData("Bootstrap:0", "/dnsaddr/bootstrap.libp2p.io/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN", "/dnsaddr are not resolved")]
    [InlineData("MaxConnections", "0", "must be positive")]
    public void A_bad_setting_fails_the_start_naming_the_key_the_value_and_why(string key, string value, string why)
    {
        var data = Path.Combine(Path.GetTempPath(), "vivim-p2p-bad-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            var error = Assert.Throws<OptionsValidationException>(() => GatewayApp.Create([.. P2pTestGateway.Arguments(data, FreePort.Next(), ["--Vivim:P2p:" + key, value])]));
            Assert.Contains("Vivim:P2p:" + key, error.Message, StringComparison.Ordinal);
            Assert.Contains(why, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }

    [Fact]
    public void A_taken_listen_port_fails_the_start_with_one_line_naming_the_port_and_the_flag()
    {
        using var holder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        holder.Listen();
        var busy = ((IPEndPoint)holder.LocalEndPoint!).Port;
        var data = Path.Combine(Path.GetTempPath(), "vivim-p2p-busy-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            var error = Assert.Throws<PortInUseException>(() => GatewayApp.Create([.. P2pTestGateway.Arguments(data, FreePort.Next(), ["--Vivim:P2p:Listen:0", $"/ip4/127.0.0.1/tcp/{busy}"])]));
            Assert.Equal(busy, error.Port);
            Assert.Equal(P2pListenAddresses.Setting, error.Setting);
            Assert.Contains("in use", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', error.Message);
        }
        finally
        {
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }
}
