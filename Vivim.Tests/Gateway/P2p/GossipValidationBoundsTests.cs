using System.Text;
using CsCheck;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Vivim.Anchors;
using Vivim.Gateway.P2p.Gossip;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Protocols.Pubsub;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Security;
using Vivim.Tests.Support;

namespace Vivim.Tests.Gateway.P2p;

/// <summary>
/// The commit validator against hostile messages on a hosted exit node's topic: oversize data is refused by its length
/// before it is parsed, and garbage of every kind is rejected (blamed), never thrown out of the validator.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class GossipValidationBoundsTests(GatewayFixture gateway)
{
    private static readonly PeerId Stranger = Ed25519Identity.Generate().PeerId;

    [Fact]
    public async Task Oversize_garbage_and_malformed_messages_are_rejected_without_throwing()
    {
        var (apiKey, did) = await GossipTestKit.NewExitNodeAsync(gateway);
        await GossipTestKit.WriteAsync(gateway, apiKey, did, 0);
        string commit;
        using (gateway.Principals.Enter(CallPrincipal.Service))
        {
            commit = ProtocolModel.ToJson((await gateway.Grains.GetGrain<IAnchorStateGrain>(did).GetUpdatesAsync(0, 10)).Commits[^1]);
        }

        var topic = CommitTopics.For(did);
        var exitNodes = ActivatorUtilities.CreateInstance<KnownExitNodes>(gateway.Services, Options.Create(new CommitGossipOptions()), TimeProvider.System);
        Assert.True(await exitNodes.CheckAsync(did));
        var validator = new CommitValidator(exitNodes, NullLogger<CommitValidator>.Instance);
        Assert.Equal(ValidationResult.Accept, validator.Validate(Message(topic, Encoding.UTF8.GetBytes(commit))));

        // The genuine commit padded past the JSON limit (whitespace: valid JSON) is refused for its size alone.
        var padded = Encoding.UTF8.GetBytes(commit + new string(' ', JsonLimits.Default.MaxBytes));
        Assert.Equal(ValidationResult.Reject, validator.Validate(Message(topic, padded)));

        byte[][] hostile =
        [
            [],
            [0xFF, 0xFE, 0xFD],
            Encoding.UTF8.GetBytes(new string('[', 100_000)),
            Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"a\":", 70)) + "1" + new string('}', 70)),
            Encoding.UTF8.GetBytes(commit[..^1] + ",\"did\":\"x\"}"),
            Encoding.UTF8.GetBytes(commit.Replace("\"fromSeq\":1", "\"fromSeq\":1e400", StringComparison.Ordinal)),
            Encoding.UTF8.GetBytes(commit.Replace("\"toSeq\":1", "\"toSeq\":9007199254740993", StringComparison.Ordinal)),
            Encoding.UTF8.GetBytes(commit.Replace("\"did\":\"", "\"did\":\"\\ud800", StringComparison.Ordinal)),
            Encoding.UTF8.GetBytes("[" + commit + "]"),
            Encoding.UTF8.GetBytes(commit[..(commit.Length / 2)]),
        ];
        foreach (var data in hostile)
        {
            Assert.Equal(ValidationResult.Reject, validator.Validate(Message(topic, data)));
        }

        // Arbitrary bytes and commits with one byte changed: rejected, never thrown.
        var bytes = Encoding.UTF8.GetBytes(commit);
        Gen.OneOf(
            Gen.Byte.Array[0, 400],
            Gen.Select(Gen.Int[0, bytes.Length - 1], Gen.Byte, (at, value) =>
            {
                var copy = (byte[])bytes.Clone();
                copy[at] = value;
                return copy;
            })).Sample(data =>
            {
                var result = validator.Validate(Message(topic, data));
                // The proof's hex may change case and still be the same signature; anything else must be blamed.
                var same = string.Equals(Encoding.UTF8.GetString(data), commit, StringComparison.OrdinalIgnoreCase);
                Assert.True(result == ValidationResult.Reject || same, $"{result} for {Encoding.UTF8.GetString(data)}");
            }, iter: 2000, threads: 1);

        // Nothing hostile raised the topic's bar.
        Assert.Equal((long)ProtocolJson.ParseObject(commit)["toSeq"]!.GetValue<double>(), validator.HighestSeen(did));
    }

    private static GossipMessage Message(string topic, byte[] data) => new(topic, data, Stranger, 1, [1], Stranger);
}
