using System.Text.Json.Nodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Tests.Libp2p;
using Vivim.Tests.Support;

namespace Vivim.Tests.Gateway.P2p;

/// <summary>A js-libp2p 3.x GossipSub peer (interop/libp2p/peer.mjs) as a subscriber or an injector on commit topics.</summary>
internal sealed class JsGossipPeer(JsPeer js) : IAsyncDisposable
{
    public sealed record Received(string Data, string? From);

    /// <summary>Node processes starved of CPU on a loaded machine can be slow; only a broken run waits this out.</summary>
    public static readonly TimeSpan JsPatience = TimeSpan.FromMinutes(2);

    public string PeerId => js.PeerId;

    public static async Task<JsGossipPeer> StartAsync(CancellationToken ct) =>
        new(await JsPeer.StartAsync(ct, "peer.mjs", "--gossip", "--heartbeat=200"));

    public Task DialAsync(string address, CancellationToken ct) => js.CommandAsync(new JsonObject { ["cmd"] = "dial", ["addr"] = address }, ct);

    public Task SubscribeAsync(string topic, CancellationToken ct) => js.CommandAsync(new JsonObject { ["cmd"] = "gsSubscribe", ["topic"] = topic }, ct);

    public Task UnsubscribeAsync(string topic, CancellationToken ct) => js.CommandAsync(new JsonObject { ["cmd"] = "gsUnsubscribe", ["topic"] = topic }, ct);

    public Task PublishAsync(string topic, string data, CancellationToken ct) =>
        js.CommandAsync(new JsonObject { ["cmd"] = "gsPublish", ["topic"] = topic, ["data"] = data }, ct);

    public async Task<IReadOnlyList<Received>> ReceivedAsync(string topic, CancellationToken ct)
    {
        var reply = await js.CommandAsync(new JsonObject { ["cmd"] = "gsReceived", ["topic"] = topic }, ct);
        return [.. reply["messages"]!.AsArray().Select(m => new Received(m!["data"]!.GetValue<string>(), m["from"]?.GetValue<string>()))];
    }

    /// <summary>Waits until at least <paramref name="count"/> messages arrived on the topic; returns all of them.</summary>
    public async Task<IReadOnlyList<Received>> ReceivedAtLeastAsync(string topic, int count, CancellationToken ct)
    {
        IReadOnlyList<Received> got = [];
        await Until.TrueAsync(async () => (got = await ReceivedAsync(topic, ct)).Count >= count, () => $"js {PeerId} has {got.Count} messages on {topic}, expected {count}", JsPatience);
        return got;
    }

    /// <summary>Waits until the gateway's mesh/topic view has this peer on the topic.</summary>
    public Task KnownOnTopicAsync(GossipGateway gateway, string topic) =>
        Until.TrueAsync(() => gateway.Pubsub.TopicPeers(topic).Any(p => p.ToString() == PeerId), () => $"{gateway.Peer.PeerId} does not see js {PeerId} on {topic}", JsPatience);

    /// <summary>A received message's data as a commit of <paramref name="did"/> whose v2 proof verifies by the DID.</summary>
    public static Commit VerifiedCommit(string did, string data)
    {
        var json = Vivim.Protocol.Json.ProtocolJson.ParseObject(data);
        Assert.True(SignatureV2.Verify(SignedKind.Commit, json, DidKey.Parse(did).PublicKey), "the commit's proof does not verify by " + did);
        var commit = ProtocolModel.FromJsonObject<Commit>(json); // strict: a member beyond the commit's (document data) fails
        Assert.Equal(did, commit.Did);
        return commit;
    }

    public ValueTask DisposeAsync() => js.DisposeAsync();
}
