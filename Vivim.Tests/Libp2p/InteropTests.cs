using System.Text.Json.Nodes;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Libp2p.Protocols.Identify;

namespace Vivim.Tests.Libp2p;

/// <summary>C# host against a real js-libp2p 3.3.11 peer (interop/libp2p/peer.mjs). Requires `npm ci` in interop/libp2p.</summary>
[Collection("libp2p-interop")]
public class InteropTests
{
    private static async Task<IdentifyInfo> WaitIdentifiedAsync(Libp2pHost host, PeerId peer, CancellationToken ct)
    {
        await TestUtil.UntilAsync(() => host.GetPeerInfo(peer) is not null, ct);
        return host.GetPeerInfo(peer)!;
    }

    [Fact]
    public async Task CSharpDialsJs_SessionIdentifyAndPingBothWays()
    {
        using var cts = TestUtil.InteropTimeout();
        await using var js = await JsPeer.StartAsync(cts.Token);
        await using var host = TestUtil.NewHost(b => b.WithAgentVersion("vivim-test/1.0"));
        await host.StartAsync(cts.Token);
        var connected = new TaskCompletionSource<PeerId>(TaskCreationOptions.RunContinuationsAsynchronously);
        host.PeerConnected += (_, e) => connected.TrySetResult(e.Peer);

        var conn = await host.DialAsync(js.Addrs[0], cts.Token);
        var jsPeer = PeerId.Parse(js.PeerId);
        Assert.Equal(jsPeer, conn.RemotePeer);
        Assert.Equal(ConnectionDirection.Outbound, conn.Direction);
        Assert.Equal(jsPeer, await connected.Task.WaitAsync(cts.Token));

        // identify: C# asks js
        var info = await host.IdentifyAsync(conn, cts.Token);
        Assert.Equal("vivim-interop-js/1.0.0", info.AgentVersion);
        Assert.Equal(jsPeer, info.PublicKey.ToPeerId());
        Assert.Contains("/ipfs/ping/1.0.0", info.Protocols);
        Assert.Contains("/ipfs/id/1.0.0", info.Protocols);
        Assert.Contains(TestUtil.Echo, info.Protocols);
        Assert.Contains(info.ListenAddresses, a => a.WithPeerId(jsPeer).ToString() == js.Addrs[0]);
        Assert.NotNull(info.ObservedAddress);
        Assert.Equal(conn.LocalAddress, info.ObservedAddress.WithoutPeerId()); // js saw our ephemeral source address
        Assert.Equal(host.PeerId, info.ObservedAddress.PeerId);

        // identify: js asks C#
        var r = await js.CommandAsync(new JsonObject { ["cmd"] = "identify", ["peer"] = host.PeerId.ToString() }, cts.Token);
        Assert.Equal(host.PeerId.ToString(), r["peerId"]!.GetValue<string>());
        Assert.Equal("vivim-test/1.0", r["agentVersion"]!.GetValue<string>());
        Assert.Equal("ipfs/0.1.0", r["protocolVersion"]!.GetValue<string>());
        var protos = r["protocols"]!.AsArray().Select(p => p!.GetValue<string>()).ToList();
        Assert.Contains(TestUtil.Echo, protos);
        Assert.Contains("/ipfs/ping/1.0.0", protos);
        Assert.Contains("/ipfs/id/push/1.0.0", protos);
        Assert.Equal(Convert.ToHexStringLower(host.Identity.PublicKey.ToProtobuf()), r["publicKey"]!.GetValue<string>());
        var listen = r["listenAddrs"]!.AsArray().Select(a => a!.GetValue<string>()).ToList();
        Assert.Contains(host.ListenAddresses[0].ToString(), listen);
        Assert.Equal(conn.RemoteAddress.ToString(), r["observedAddr"]!.GetValue<string>());

        // ping both ways
        var rtt = await host.PingAsync(jsPeer, cts.Token);
        TestUtil.AssertRoundTrip(rtt);
        var jsRtt = await js.CommandAsync(new JsonObject { ["cmd"] = "ping", ["peer"] = host.PeerId.ToString() }, cts.Token);
        Assert.True(jsRtt["rtt"]!.GetValue<double>() >= 0);
        // yamux-level ping too
        TestUtil.AssertRoundTrip(await conn.Session.PingAsync(cts.Token));
    }

    [Fact]
    public async Task JsDialsCSharp_SessionIdentifyAndPingBothWays()
    {
        using var cts = TestUtil.InteropTimeout();
        await using var js = await JsPeer.StartAsync(cts.Token);
        await using var host = TestUtil.NewHost();
        await host.StartAsync(cts.Token);
        var connected = new TaskCompletionSource<Connection>(TaskCreationOptions.RunContinuationsAsynchronously);
        host.PeerConnected += (_, e) => connected.TrySetResult(e.Connection);
        var jsPeer = PeerId.Parse(js.PeerId);

        var addr = host.ListenAddresses[0].WithPeerId(host.PeerId).ToString();
        var d = await js.CommandAsync(new JsonObject { ["cmd"] = "dial", ["addr"] = addr }, cts.Token);
        Assert.Equal(host.PeerId.ToString(), d["peerId"]!.GetValue<string>());
        var conn = await connected.Task.WaitAsync(cts.Token);
        Assert.Equal(ConnectionDirection.Inbound, conn.Direction);
        Assert.Equal(jsPeer, conn.RemotePeer);

        // our automatic identify of the inbound peer
        var info = await WaitIdentifiedAsync(host, jsPeer, cts.Token);
        Assert.Equal("vivim-interop-js/1.0.0", info.AgentVersion);
        Assert.Contains(TestUtil.Echo, info.Protocols);
        Assert.Equal(conn.LocalAddress, info.ObservedAddress!.WithoutPeerId());

        var r = await js.CommandAsync(new JsonObject { ["cmd"] = "identify", ["peer"] = host.PeerId.ToString() }, cts.Token);
        Assert.Equal(Convert.ToHexStringLower(host.Identity.PublicKey.ToProtobuf()), r["publicKey"]!.GetValue<string>());
        Assert.Equal(conn.RemoteAddress.ToString(), r["observedAddr"]!.GetValue<string>());
        Assert.Contains(host.ListenAddresses[0].ToString(), r["listenAddrs"]!.AsArray().Select(a => a!.GetValue<string>()));

        var jsRtt = await js.CommandAsync(new JsonObject { ["cmd"] = "ping", ["peer"] = host.PeerId.ToString() }, cts.Token);
        Assert.True(jsRtt["rtt"]!.GetValue<double>() >= 0);
        TestUtil.AssertRoundTrip(await host.PingAsync(jsPeer, cts.Token));
    }

    [Fact]
    public async Task IdentifyPush_NewProtocolReachesJs()
    {
        using var cts = TestUtil.InteropTimeout();
        await using var js = await JsPeer.StartAsync(cts.Token);
        await using var host = TestUtil.NewHost();
        await host.StartAsync(cts.Token);
        await host.DialAsync(js.Addrs[0], cts.Token);
        async Task<IReadOnlyList<string>> ProtocolsJsKnowsAsync() =>
            [.. (await js.CommandAsync(new JsonObject { ["cmd"] = "peerStore", ["peer"] = host.PeerId.ToString() }, cts.Token))["protocols"]!.AsArray().Select(p => p!.GetValue<string>())];
        // wait until js has identified us
        await TestUtil.UntilAsync(async () => (await ProtocolsJsKnowsAsync()).Count > 0, cts.Token);
        host.SetStreamHandler("/vivim/new/1.0.0", (s, ct) => Task.CompletedTask);
        await TestUtil.UntilAsync(async () => (await ProtocolsJsKnowsAsync()).Contains("/vivim/new/1.0.0"), cts.Token);
    }

    private const int Streams = 32;
    private const long BytesPerStream = 2L * 1024 * 1024; // 32 x 2 MiB = 64 MiB

    [Fact]
    public async Task CSharpToJsEcho_64MiBAcross32Streams_HashesMatch()
    {
        using var cts = TestUtil.InteropTimeout();
        await using var js = await JsPeer.StartAsync(cts.Token);
        await using var host = TestUtil.NewHost();
        await host.StartAsync(cts.Token);
        var conn = await host.DialAsync(js.Addrs[0], cts.Token);
        var tasks = Enumerable.Range(0, Streams).Select(async _ =>
        {
            await using var s = await conn.NewStreamAsync([TestUtil.Echo], cts.Token);
            return await TestUtil.EchoRoundTripAsync(s, BytesPerStream, cts.Token, s.CloseWriteAsync);
        }).ToList();
        var results = await Task.WhenAll(tasks);
        foreach (var (sent, received, bytes) in results)
        {
            Assert.Equal(BytesPerStream, bytes);
            Assert.Equal(sent, received);
        }
        Assert.Equal(Streams, results.Select(r => r.Sent).Distinct().Count());
    }

    [Fact]
    public async Task JsToCSharpEcho_64MiBAcross32Streams_HashesMatch()
    {
        using var cts = TestUtil.InteropTimeout();
        await using var js = await JsPeer.StartAsync(cts.Token);
        var seen = new System.Collections.Concurrent.ConcurrentBag<string>();
        await using var host = TestUtil.NewHost(b => b.WithStreamHandler("/vivim/echo-hash/1.0.0", async (s, ct) =>
        {
            using var h = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
            var buf = new byte[64 * 1024];
            int n;
            while ((n = await s.ReadAsync(buf, ct)) > 0)
            {
                h.AppendData(buf, 0, n);
                await s.WriteAsync(buf.AsMemory(0, n), ct);
            }
            seen.Add(Convert.ToHexStringLower(h.GetHashAndReset()));
            await s.CloseWriteAsync();
        }));
        await host.StartAsync(cts.Token);
        var r = await js.CommandAsync(new JsonObject
        {
            ["cmd"] = "echo",
            ["addr"] = host.ListenAddresses[0].WithPeerId(host.PeerId).ToString(),
            ["protocol"] = "/vivim/echo-hash/1.0.0",
            ["streams"] = Streams,
            ["bytesPerStream"] = BytesPerStream,
        }, cts.Token);
        var results = r["results"]!.AsArray();
        Assert.Equal(Streams, results.Count);
        foreach (var res in results)
        {
            Assert.Equal(BytesPerStream, res!["bytes"]!.GetValue<long>());
            Assert.Equal(res["sent"]!.GetValue<string>(), res["received"]!.GetValue<string>());
        }
        // what the C# side saw on each stream is exactly what js sent
        Assert.Equal(results.Select(x => x!["sent"]!.GetValue<string>()).Order(), seen.Order());
    }
}
