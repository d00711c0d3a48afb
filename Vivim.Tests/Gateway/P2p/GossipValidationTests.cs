using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Vivim.Anchors;
using Vivim.Gateway.P2p.Gossip;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Protocols.Pubsub;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Security;
using Vivim.Tests.Libp2p;
using Vivim.Tests.Support;

namespace Vivim.Tests.Gateway.P2p;

/// <summary>
/// What the gateway lets through on <c>/vivim/sync/*</c>: only the topic DID's anchor-signed commits of a hosted exit
/// node, not older than the highest seen. Forged messages from a js peer are rejected and never reach another
/// subscriber through the gateway.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class GossipValidationTests(GatewayFixture gateway)
{
    private static readonly PeerId Stranger = Ed25519Identity.Generate().PeerId;

    private Task<(string ApiKey, string Did)> NewExitNodeAsync() => GossipTestKit.NewExitNodeAsync(gateway);

    private Task<long> WriteAsync(string apiKey, string did, int index, int documents = 1) => GossipTestKit.WriteAsync(gateway, apiKey, did, index, documents);

    /// <summary>The anchor's commits of a DID as the JSON published on its topic.</summary>
    private async Task<List<string>> CommitsAsync(string did)
    {
        using var _ = gateway.Principals.Enter(CallPrincipal.Service);
        var page = await gateway.Grains.GetGrain<IAnchorStateGrain>(did).GetUpdatesAsync(0, 1000);
        return [.. page.Commits.OrderBy(c => c.ToSeq).Select(ProtocolModel.ToJson)];
    }

    /// <summary>A genuine commit changed (<paramref name="change"/>) and signed again by someone who is not the DID.</summary>
    private static string Forged(string commitJson, Action<JsonObject> change)
    {
        var json = ProtocolJson.ParseObject(commitJson);
        change(json);
        using var stranger = SigningKey.Generate();
        SignatureV2.SignInPlace(stranger, SignedKind.Commit, json);
        return JavaScriptJson.Stringify(json);
    }

    private static GossipMessage Message(string topic, string data) =>
        new(topic, Encoding.UTF8.GetBytes(data), Stranger, 1, [1], Stranger);

    [Fact]
    public async Task Only_verified_commits_of_the_topic_DID_from_a_hosted_exit_node_and_not_older_than_seen_are_accepted()
    {
        var (apiKey, did) = await NewExitNodeAsync();
        for (var i = 0; i < 3; i++)
        {
            await WriteAsync(apiKey, did, i);
        }

        var commits = await CommitsAsync(did);
        var topic = CommitTopics.For(did);
        var services = gateway.Services;
        var exitNodes = ActivatorUtilities.CreateInstance<KnownExitNodes>(services, Microsoft.Extensions.Options.Options.Create(new CommitGossipOptions()), TimeProvider.System);
        var validator = new CommitValidator(exitNodes, Microsoft.Extensions.Logging.Abstractions.NullLogger<CommitValidator>.Instance);

        // not known yet: ignored (no blame) while the exit node grain is asked
        Assert.Equal(ValidationResult.Ignore, validator.Validate(Message(topic, commits[1])));
        Assert.True(await exitNodes.CheckAsync(did));
        Assert.Equal(ValidationResult.Accept, validator.Validate(Message(topic, commits[1])));
        Assert.Equal(ValidationResult.Accept, validator.Validate(Message(topic, commits[1]))); // the latest again
        Assert.Equal(ValidationResult.Ignore, validator.Validate(Message(topic, commits[0]))); // older than seen: not forwarded, no blame
        Assert.Equal(ValidationResult.Accept, validator.Validate(Message(topic, commits[2])));

        // forged: a higher seq signed by a stranger, a changed root, another DID's topic, not JSON, not a commit, extra data
        Assert.Equal(ValidationResult.Reject, validator.Validate(Message(topic, Forged(commits[2], c => { c["fromSeq"] = 4; c["toSeq"] = 4; }))));
        var tampered = ProtocolJson.ParseObject(commits[2]);
        tampered["timestamp"] = 1;
        Assert.Equal(ValidationResult.Reject, validator.Validate(Message(topic, JavaScriptJson.Stringify(tampered))));
        var (_, otherDid) = await NewExitNodeAsync();
        Assert.Equal(ValidationResult.Reject, validator.Validate(Message(CommitTopics.For(otherDid), commits[2])));
        Assert.Equal(ValidationResult.Reject, validator.Validate(Message(topic, "not json")));
        Assert.Equal(ValidationResult.Reject, validator.Validate(Message(topic, """{"did":"x"}""")));
        var withData = ProtocolJson.ParseObject(commits[2]);
        withData["data"] = "secret";
        Assert.Equal(ValidationResult.Reject, validator.Validate(Message(topic, JavaScriptJson.Stringify(withData))));
        Assert.Equal(ValidationResult.Reject, validator.Validate(Message("/vivim/sync/", commits[2])));

        // a stranger's own DID signs its commit correctly, but it is no exit node hosted here
        using var strangerKey = SigningKey.Generate();
        var strangerDid = strangerKey.Did.Value;
        var own = Forged(commits[2], c => c["did"] = strangerDid);
        var ownJson = ProtocolJson.ParseObject(own);
        SignatureV2.SignInPlace(strangerKey, SignedKind.Commit, ownJson);
        var strangerTopic = CommitTopics.For(strangerDid);
        Assert.Equal(ValidationResult.Ignore, validator.Validate(Message(strangerTopic, JavaScriptJson.Stringify(ownJson))));
        Assert.False(await exitNodes.CheckAsync(strangerDid));
        Assert.Equal(ValidationResult.Reject, validator.Validate(Message(strangerTopic, JavaScriptJson.Stringify(ownJson))));
        Assert.Equal(3, validator.HighestSeen(did));
    }

    [Fact]
    public async Task A_forged_commit_from_a_js_peer_is_rejected_by_the_gateway_and_not_forwarded_to_another_subscriber()
    {
        using var cts = TestUtil.InteropTimeout();
        var ct = cts.Token;
        var (apiKey, did) = await NewExitNodeAsync();
        var topic = CommitTopics.For(did);
        await using var gw = await GossipGateway.StartAsync(gateway, TestUtil.NewClock());
        await using var injector = await JsGossipPeer.StartAsync(ct);
        await using var subscriber = await JsGossipPeer.StartAsync(ct);
        gw.Ownership.Acquire(did);
        await injector.DialAsync(gw.Address, ct);
        await subscriber.DialAsync(gw.Address, ct);
        await injector.SubscribeAsync(topic, ct);
        await subscriber.SubscribeAsync(topic, ct);
        await gw.PublishingAsync(did);
        await injector.KnownOnTopicAsync(gw, topic);
        await subscriber.KnownOnTopicAsync(gw, topic); // a commit published before the gateway knows it would pass it by
        await Until.TrueAsync(() => gw.ExitNodes.IsKnown(did) == true, () => "the exit node is not known");
        await WriteAsync(apiKey, did, 0);
        await WriteAsync(apiKey, did, 1);
        await subscriber.ReceivedAtLeastAsync(topic, 2, ct);
        var commits = await CommitsAsync(did);

        // forged messages, each rejected by the gateway; a genuine but older commit ignored (not forwarded, no blame:
        // a relay clone re-publishing behind the gateway sends those)
        string[] bad =
        [
            Forged(commits[1], c => { c["fromSeq"] = 3; c["toSeq"] = 3; }),
            Forged(commits[1], c => c["root"] = c["prevRoot"]!.GetValue<string>()),
            "{\"not\":\"a commit\"}",
            commits[0],
        ];
        foreach (var data in bad[..^1])
        {
            var rejected = gw.Validator.Rejected;
            await injector.PublishAsync(topic, data, ct);
            await Until.TrueAsync(() => gw.Validator.Rejected > rejected, () => "the gateway did not reject " + data);
        }

        var ignored = gw.Validator.Ignored;
        await injector.PublishAsync(topic, bad[^1], ct);
        await Until.TrueAsync(() => gw.Validator.Ignored > ignored, () => "the gateway did not ignore the older commit");

        // the latest genuine commit again passes and is relayed: the path works, so what did not come was stopped
        await injector.PublishAsync(topic, commits[1], ct);
        var got = await subscriber.ReceivedAtLeastAsync(topic, 3, ct);
        Assert.Equal(injector.PeerId, got[2].From);
        await WriteAsync(apiKey, did, 2);
        got = await subscriber.ReceivedAtLeastAsync(topic, 4, ct);
        Assert.Equal(4, got.Count);
        Assert.Equal([1L, 2L, 2L, 3L], got.Select(m => JsGossipPeer.VerifiedCommit(did, m.Data).ToSeq));
        Assert.Single(got, m => m.From == injector.PeerId); // only the genuine latest came through from the injector
        Assert.DoesNotContain(got, m => bad[..^1].Contains(m.Data)); // the older genuine one is the [1] the gateway sent, not a second
        Assert.True(gw.Pubsub.GetScore(Vivim.Libp2p.Core.PeerId.Parse(injector.PeerId)) < 0, "rejections count against the injector");
    }
}
