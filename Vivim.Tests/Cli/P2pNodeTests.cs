using System.Text.Json.Nodes;
using Vivim.Libp2p.Core;
using Vivim.Tests.Libp2p;

namespace Vivim.Tests.Cli;

/// <summary><c>vivim p2p node</c> as real processes: two of them together, and one with the js-libp2p peer.</summary>
[Collection("libp2p-interop")]
public class P2pNodeTests
{
    private static readonly string SeedA = new string('0', 62) + "0a";
    private static readonly string SeedB = new string('0', 62) + "0b";

    private static string PeerIdOf(string seedHex) => Ed25519Identity.FromSeed(Convert.FromHexString(seedHex)).PeerId.ToString();

    private static JsonObject Cmd(string cmd, params (string Key, string Value)[] args)
    {
        var o = new JsonObject { ["cmd"] = cmd };
        foreach (var (k, v) in args)
        {
            o[k] = v;
        }
        return o;
    }

    private static bool Is(JsonObject e, string ev, string field, string value) =>
        e["event"]?.GetValue<string>() == ev && e[field]?.GetValue<string>() == value;

    /// <summary>Publishes probes until the topic has a recipient (subscriptions travel after identify), then the payload.</summary>
    private static async Task PublishWhenHeardAsync(VivimProcess from, string topic, string data, CancellationToken ct)
    {
        await TestUtil.UntilAsync(async () => (await from.CommandAsync(Cmd("publish", ("topic", topic), ("data", "probe")), ct))["recipients"]!.GetValue<int>() >= 1, ct);
        await from.CommandAsync(Cmd("publish", ("topic", topic), ("data", data)), ct);
    }

    [Fact]
    public async Task TwoNodes_ConnectPingPubsubDhtPeers_AndSurviveMalformedLines()
    {
        using var cts = TestUtil.InteropTimeout(); // real processes on real time: the bound matters only when something is broken
        var ct = cts.Token;
        VivimProcess? a = null, b = null;
        try
        {
            a = await VivimProcess.StartAsync(ct, "--seed-hex", SeedA, "--subscribe", "t");
            Assert.Equal(PeerIdOf(SeedA), a.PeerId);
            Assert.StartsWith("12D3KooW", a.PeerId, StringComparison.Ordinal);
            Assert.StartsWith("/ip4/127.0.0.1/tcp/", a.Addrs[0], StringComparison.Ordinal);
            b = await VivimProcess.StartAsync(ct, "--seed-hex", SeedB, "--bootstrap", a.Dialable);
            Assert.Equal(PeerIdOf(SeedB), b.PeerId);

            await a.WaitEventAsync(e => Is(e, "peer:connect", "peerId", b.PeerId), ct);
            await b.WaitEventAsync(e => Is(e, "peer:connect", "peerId", a.PeerId), ct);

            var ping = await b.CommandAsync(Cmd("ping", ("addr", a.Dialable)), ct);
            Assert.True(ping["rttMs"]!.GetValue<double>() >= 0);

            // pubsub: b joins by command, a by flag; both directions
            await b.CommandAsync(Cmd("subscribe", ("topic", "t")), ct);
            await PublishWhenHeardAsync(b, "t", "hello from b", ct);
            var m = await a.WaitEventAsync(e => Is(e, "message", "data", "hello from b"), ct);
            Assert.Equal("t", m["topic"]!.GetValue<string>());
            Assert.Equal(b.PeerId, m["from"]!.GetValue<string>());
            await PublishWhenHeardAsync(a, "t", "héllo from a", ct);
            m = await b.WaitEventAsync(e => Is(e, "message", "data", "héllo from a"), ct);
            Assert.Equal(a.PeerId, m["from"]!.GetValue<string>());

            // provider records: b provides, a finds b
            await TestUtil.UntilAsync(async () => (await b.CommandAsync(Cmd("provide", ("key", "some string")), ct))["told"]!.GetValue<int>() >= 1, ct);
            var providers = (await a.CommandAsync(Cmd("findProviders", ("key", "some string")), ct))["providers"]!.AsArray();
            var prov = Assert.Single(providers, p => p!["peerId"]!.GetValue<string>() == b.PeerId)!;
            Assert.Contains(b.Addrs[0], prov["addrs"]!.AsArray().Select(x => x!.GetValue<string>()));
            Assert.Empty((await a.CommandAsync(Cmd("findProviders", ("key", "nobody provides this")), ct))["providers"]!.AsArray());

            // value records: a puts, b gets
            Assert.True((await a.CommandAsync(Cmd("put", ("key", "/vivim/k"), ("value", "v")), ct))["accepted"]!.GetValue<int>() >= 1);
            Assert.Equal("v", (await b.CommandAsync(Cmd("get", ("key", "/vivim/k")), ct))["value"]!.GetValue<string>());
            var refused = await a.TryCommandAsync(Cmd("put", ("key", "/other/k"), ("value", "v")), ct);
            Assert.False(refused["ok"]!.GetValue<bool>());

            var peers = (await a.CommandAsync(Cmd("peers"), ct))["peers"]!.AsArray();
            Assert.Contains(b.PeerId, peers.Select(p => p!["peerId"]!.GetValue<string>()));

            // malformed lines: each gets ok:false, the node carries on
            await a.SendLineAsync("this is not json", ct);
            await a.SendLineAsync("[1,2,3]", ct);
            await a.SendLineAsync("{\"cmd\":\"ping\"", ct);
            await a.SendLineAsync(new string('x', 70 * 1024), ct);
            await a.WaitEventAsync(e => Is(e, "result", "id", "") && e["ok"]!.GetValue<bool>() == false && e["error"]!.GetValue<string>().Contains("64 KiB", StringComparison.Ordinal), ct);
            await TestUtil.UntilAsync(() => a.Events.Count(e => Is(e, "result", "id", "")) >= 4, ct);
            Assert.All(a.Events.Where(e => Is(e, "result", "id", "")), e => Assert.False(e["ok"]!.GetValue<bool>()));
            var unknown = await a.TryCommandAsync(Cmd("frobnicate"), ct);
            Assert.False(unknown["ok"]!.GetValue<bool>());
            Assert.Contains("unknown cmd", unknown["error"]!.GetValue<string>(), StringComparison.Ordinal);
            var missing = await a.TryCommandAsync(Cmd("publish", ("topic", "t")), ct);
            Assert.False(missing["ok"]!.GetValue<bool>());
            Assert.Contains("data", missing["error"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.False((await a.TryCommandAsync(Cmd("dial", ("addr", "/not/a/multiaddr")), ct))["ok"]!.GetValue<bool>());
            Assert.False(a.HasExited);
            Assert.True((await a.CommandAsync(Cmd("peers"), ct))["ok"]!.GetValue<bool>());

            // EOF on stdin, or SIGTERM, stops it cleanly
            Assert.Equal(0, await a.StopAsync(ct));
            Assert.Equal(0, await b.TerminateAsync(ct));
        }
        finally
        {
            if (a is not null)
            {
                await a.DisposeAsync();
            }
            if (b is not null)
            {
                await b.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task VivimNode_AndJsPeer_PubsubBothWays()
    {
        JsPeer.EnsureInstalled();
        using var cts = TestUtil.InteropTimeout(); // real processes on real time: the bound matters only when something is broken
        var ct = cts.Token;
        JsPeer? js = null;
        VivimProcess? v = null;
        try
        {
            js = await JsPeer.StartAsync(ct, "peer.mjs", "--gossip", "--heartbeat=200");
            await js.CommandAsync(new JsonObject { ["cmd"] = "gsSubscribe", ["topic"] = "mix" }, ct);
            var jsAddr = js.Addrs.First(x => x.StartsWith("/ip4/127.0.0.1/tcp/", StringComparison.Ordinal));
            if (!jsAddr.Contains("/p2p/", StringComparison.Ordinal))
            {
                jsAddr += "/p2p/" + js.PeerId;
            }
            v = await VivimProcess.StartAsync(ct, "--seed-hex", SeedA, "--bootstrap", jsAddr, "--subscribe", "mix");
            await v.WaitEventAsync(e => Is(e, "peer:connect", "peerId", js.PeerId), ct);

            // vivim → js
            await PublishWhenHeardAsync(v, "mix", "from vivim", ct);
            JsonNode? hit = null;
            await TestUtil.UntilAsync(
                async () => (hit = (await js.CommandAsync(new JsonObject { ["cmd"] = "gsReceived", ["topic"] = "mix" }, ct))["messages"]!.AsArray()
                    .FirstOrDefault(x => x!["data"]!.GetValue<string>() == "from vivim")) is not null,
                ct);
            Assert.Equal(v.PeerId, hit!["from"]!.GetValue<string>());

            // js → vivim
            await TestUtil.UntilAsync(async () => (await js.CommandAsync(new JsonObject { ["cmd"] = "gsPublish", ["topic"] = "mix", ["data"] = "from js" }, ct))["recipients"]!.GetValue<int>() >= 1, ct);
            var m = await v.WaitEventAsync(e => Is(e, "message", "data", "from js"), ct);
            Assert.Equal(js.PeerId, m["from"]!.GetValue<string>());
            Assert.Equal("mix", m["topic"]!.GetValue<string>());
        }
        finally
        {
            if (v is not null)
            {
                await v.DisposeAsync();
            }
            if (js is not null)
            {
                await js.DisposeAsync();
            }
        }
    }
}
