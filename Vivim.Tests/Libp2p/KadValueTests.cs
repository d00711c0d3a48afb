using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Protocols.Kad;

namespace Vivim.Tests.Libp2p;

/// <summary>"/vivim/" values are "v=&lt;version&gt;;payload"; the highest version wins (js peer.mjs uses the same rule).</summary>
public sealed partial class VersionedValidator : IKadRecordValidator
{
    [GeneratedRegex(@"^v=(\d+);")]
    private static partial Regex Pattern();

    private static long Version(byte[] v) => Pattern().Match(Encoding.UTF8.GetString(v)) is { Success: true } m ? long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : -1;

    public void Validate(byte[] key, byte[] value)
    {
        if (Version(value) < 0)
        {
            throw new MalformedDataException("invalid /vivim/ record");
        }
    }

    public int Select(byte[] key, IReadOnlyList<byte[]> values)
    {
        var best = 0;
        for (var i = 1; i < values.Count; i++)
        {
            if (Version(values[i]) > Version(values[best]))
            {
                best = i;
            }
        }
        return best;
    }
}

/// <summary>Kademlia value records: PUT_VALUE / GET_VALUE with namespace validators, unit and js interop (@libp2p/kad-dht 16.4.5).</summary>
[Collection("libp2p-interop")]
public class KadValueTests
{
    private static KadOptions Opts() => new() { Validators = { ["vivim"] = new VersionedValidator() } };

    private static byte[] U(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void Record_RoundTripsWithJsTimeFormat()
    {
        var t = new DateTimeOffset(2026, 11, 24, 21, 0, 1, 234, TimeSpan.Zero);
        Assert.Equal("2026-11-24T21:00:01.234000000Z", KadRecord.FormatTime(t));
        var r = KadRecord.Decode(new KadRecord(U("/vivim/a"), U("v=1;x"), t).Encode());
        Assert.Equal(U("/vivim/a"), r.Key);
        Assert.Equal(U("v=1;x"), r.Value);
        Assert.Equal(t, r.TimeReceived);
        Assert.Equal("vivim", KadRecord.Namespace(U("/vivim/a/b")));
        Assert.Null(KadRecord.Namespace(U("vivim")));
    }

    [Fact]
    public async Task Server_ValidatesPuts_KeepsBestBySelector_AnswersGets()
    {
        await using var host = TestUtil.NewHost();
        using var dht = new KadDht(host, Opts());
        var from = Ed25519Identity.Generate().PeerId;
        KadMessage Put(string key, string value) => new() { Type = KadMessageType.PutValue, Key = U(key), Record = new KadRecord(U(key), U(value)).Encode() };

        Assert.Same(Put("/vivim/a", "v=2;two") is var p2 ? p2 : null, dht.Respond(p2, from));
        Assert.Throws<MalformedDataException>(() => dht.Respond(Put("/vivim/a", "garbage"), from));
        Assert.Throws<MalformedDataException>(() => dht.Respond(Put("/other/a", "v=1;x"), from)); // no validator for the namespace
        dht.Respond(Put("/vivim/a", "v=1;older"), from); // accepted as valid, but the stored v=2 is better
        var resp = dht.Respond(new KadMessage { Type = KadMessageType.GetValue, Key = U("/vivim/a") }, from)!;
        var rec = KadRecord.Decode(resp.Record!);
        Assert.Equal("v=2;two", Encoding.UTF8.GetString(rec.Value));
        Assert.NotNull(rec.TimeReceived);
        dht.Respond(Put("/vivim/a", "v=3;three"), from);
        Assert.Equal("v=3;three", Encoding.UTF8.GetString(dht.Records.Get(U("/vivim/a"))!.Value));
    }

    private static async Task WaitInJsTableAsync(JsPeer js, string peer, CancellationToken ct)
    {
        await TestUtil.UntilAsync(async () => (await js.CommandAsync(new JsonObject { ["cmd"] = "dhtTable", ["peers"] = new JsonArray(peer) }, ct))["present"]!.AsArray().Count > 0, ct);
    }

    [Fact]
    public async Task Interop_PutAndGetBothWays_SelectorPicksNewest_InvalidRefused()
    {
        using var cts = TestUtil.InteropTimeout();
        var ct = cts.Token;
        await using var js1 = await JsPeer.StartAsync(ct, "peer.mjs", "--dht");
        await using var js2 = await JsPeer.StartAsync(ct, "peer.mjs", "--dht");
        await js1.CommandAsync(new JsonObject { ["cmd"] = "dial", ["addr"] = js2.Addrs[0] }, ct);
        await WaitInJsTableAsync(js1, js2.PeerId, ct);
        await using var host = TestUtil.NewHost();
        using var dht = new KadDht(host, Opts());
        await host.StartAsync(ct);
        await host.DialAsync(js1.Addrs[0], ct);
        await WaitInJsTableAsync(js1, host.PeerId.ToString(), ct);
        await TestUtil.UntilAsync(() => dht.RoutingTable.Find(PeerId.Parse(js1.PeerId)) is not null, ct);

        // C# puts; js2 (not directly connected to us) gets it
        Assert.True(await dht.PutValueAsync(U("/vivim/a"), U("v=1;from-cs"), ct) >= 1);
        var got = await js2.CommandAsync(new JsonObject { ["cmd"] = "dhtGet", ["key"] = "/vivim/a" }, ct);
        Assert.Equal("v=1;from-cs", got["value"]!.GetValue<string>());

        // js puts a newer version; C# gets it (its own older local copy loses to the selector)
        await js2.CommandAsync(new JsonObject { ["cmd"] = "dhtPut", ["key"] = "/vivim/a", ["value"] = "v=2;from-js" }, ct);
        Assert.Equal("v=2;from-js", Encoding.UTF8.GetString((await dht.GetValueAsync(U("/vivim/a"), ct))!));

        await js1.CommandAsync(new JsonObject { ["cmd"] = "dhtPut", ["key"] = "/vivim/b", ["value"] = "v=7;js-only" }, ct);
        Assert.Equal("v=7;js-only", Encoding.UTF8.GetString((await dht.GetValueAsync(U("/vivim/b"), ct))!));

        // invalid values: C# refuses its own put; js stores its own put unvalidated and sends it, but our server
        // refuses it, and our GET drops the invalid record js1 then serves from its local store
        await Assert.ThrowsAsync<MalformedDataException>(() => dht.PutValueAsync(U("/vivim/c"), U("nope"), ct));
        await js1.CommandAsync(new JsonObject { ["cmd"] = "dhtPut", ["key"] = "/vivim/c", ["value"] = "nope" }, ct);
        Assert.Null(dht.Records.Get(U("/vivim/c")));
        Assert.Null(await dht.GetValueAsync(U("/vivim/c"), ct));
    }
}
