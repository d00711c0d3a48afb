using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;

namespace Vivim.Tests.Protocol;

public sealed class ProtocolModelTests
{
    private static readonly Serializer OrleansSerializer =
        new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();

    private static StateUpdate SampleUpdate() => new(
        UpdateId: "7d0f3c39-5f6e-4b53-9a3e-0c2b8c1f4a11",
        Type: UpdateType.Node,
        Timestamp: 1767225600000,
        SourceDid: "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        SourceCloneId: "",
        Operation: UpdateOperation.Create,
        Path: "nodes/laptop",
        Data: new RawJson("""{"name":"laptop","ports":[1,2]}"""),
        MerkleProof: "",
        Signature: new string('a', 128),
        BaseSeq: 7);

    [Fact]
    public void StateUpdate_has_the_SDK_shape_in_SDK_order()
    {
        Assert.Equal(
            """{"updateId":"7d0f3c39-5f6e-4b53-9a3e-0c2b8c1f4a11","type":"node","timestamp":1767225600000,"sourceDid":"did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK","sourceCloneId":"","operation":"create","path":"nodes/laptop","data":{"name":"laptop","ports":[1,2]},"merkleProof":"","signature":"""
            + "\"" + new string('a', 128) + "\",\"baseSeq\":7}",
            ProtocolModel.ToJson(SampleUpdate()));
    }

    [Fact]
    public void Records_round_trip_through_JSON_and_the_Orleans_serializer()
    {
        using var key = SigningKey.FromSeedHex("0303030303030303030303030303030303030303030303030303030303030303");
        var anchor = new AnchorState(key.Did.Value, "", null, TrustLevel.Genesis, new string('0', 64), "Qm" + new string('1', 44), 1767225600000, "1.0.0", ["identity", "memory"], new string('b', 128));
        var advertisement = new ExitNodeAdvertisement(key.Did.Value, "12D3KooWExample", ["/ip4/127.0.0.1/tcp/4001"], ["identity"], ["1.0.0"], TrustLevel.Genesis, anchor, new ExitNodeEndpoints("/vivim/clone/1.0.0", "/vivim/sync/1.0.0", "/vivim/relay/1.0.0"), new ExitNodePolicy());
        var trust = new TrustProof(TrustProofType.Attestation, key.Did.Value, "did:key:z6Mkother", new string('c', 128), 1, new TrustProofPayload(TrustLevel.Secondary, key.Did.Value, "", MigrationType.Mirror, ["read", "write"]));
        var snapshot = new StateSnapshot("s1", 1, key.Did.Value, "", "1.0.0", "1.0.0", new string('d', 64), new RawJson("""{"identity":{"did":"x","publicKey":"y"},"nodes":{}}"""), new string('e', 128), Seq: 3, RootV2: new string('f', 64));
        var response = new CloneRegistrationResponse(true, "c1", Endpoints: new CloneEndpoints("http://x", "/ip4/1.2.3.4/tcp/1"), TrustProof: trust, InitialState: snapshot);
        var request = new CloneRegistrationRequest("did:key:z6Mkother", ["memory"], PreferredNetwork.Local, new string('1', 128), 5, "n1", ChallengeResponse: "ch", MigrationType: MigrationType.Relay);
        var commit = new Commit(key.Did.Value, 1, 2, new string('0', 64), [new string('1', 64), new string('2', 64)], new string('2', 64), [new string('3', 64), new string('4', 64)], 9, new V2Proof("vivim-v2", new string('5', 128)));
        var status = new SyncStatus(true, key.Did.Value, 0, 4, new string('6', 64));

        RoundTrip(SampleUpdate());
        RoundTrip(anchor);
        RoundTrip(advertisement);
        RoundTrip(trust);
        RoundTrip(snapshot);
        RoundTrip(response);
        RoundTrip(request);
        RoundTrip(commit);
        RoundTrip(status);
        RoundTrip(new SyncConfig());

        Assert.Equal("clone", ProtocolModel.ToJsonObject(advertisement)["endpoints"]!.AsObject().First().Key);
        Assert.Equal("secondary", ProtocolModel.ToJsonObject(trust)["payload"]!["trustLevel"]!.GetValue<string>());
    }

    [Fact]
    public void A_did_key_round_trips_through_the_Orleans_serializer_with_its_key()
    {
        // Its codec is generated from metadata in another assembly (see DidKey): both fields must come back.
        using var key = SigningKey.FromSeedHex("0303030303030303030303030303030303030303030303030303030303030303");
        var copy = OrleansSerializer.Deserialize<DidKey>(OrleansSerializer.SerializeToArray(key.Did))!;
        Assert.Equal(key.Did.Value, copy.Value);
        Assert.Equal(key.Did.PublicKeyHex, copy.PublicKeyHex);
    }

    [Fact]
    public void SyncConfig_defaults_are_the_SDKs()
    {
        var config = ProtocolModel.FromJsonObject<SyncConfig>(new JsonObject());
        Assert.Equal(new SyncConfig(true, 60000, 100, 30000, false), config);
    }

    [Theory]
    [InlineData("extra", "true", "extra")]
    [InlineData("type", "\"bogus\"", "type")]
    [InlineData("type", "4", "type")]
    [InlineData("timestamp", "\"1767225600000\"", "timestamp")]
    [InlineData("timestamp", "1.5", "timestamp")]
    [InlineData("path", "null", "path")]
    [InlineData("operation", "\"CREATE\"", "operation")]
    public void Wrong_members_are_refused_with_the_member_named(string member, string json, string named)
    {
        var obj = ProtocolModel.ToJsonObject(SampleUpdate());
        obj[member] = ProtocolJson.Parse(json);
        var e = Assert.Throws<ProtocolModelException>(() => ProtocolModel.FromJsonObject<StateUpdate>(obj));
        Assert.Equal("invalid-shape", e.Code);
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_required_members_are_refused()
    {
        var obj = ProtocolModel.ToJsonObject(SampleUpdate());
        obj.Remove("updateId");
        Assert.Throws<ProtocolModelException>(() => ProtocolModel.FromJsonObject<StateUpdate>(obj));
    }

    [Fact]
    public void A_signed_record_verifies_after_the_JSON_round_trip()
    {
        using var key = SigningKey.FromSeedHex("0404040404040404040404040404040404040404040404040404040404040404");
        var json = ProtocolModel.ToJsonObject(SampleUpdate() with { SourceDid = key.Did.Value });
        SignatureV1.SignInPlace(key, SignedKind.StateUpdate, json);
        SignatureV2.SignInPlace(key, SignedKind.StateUpdate, json);
        var record = ProtocolModel.FromJsonObject<StateUpdate>(json);
        Assert.Equal("vivim-v2", record.Proof!.Type);

        var again = ProtocolModel.ToJsonObject(record);
        Assert.True(SignatureV1.Verify(SignedKind.StateUpdate, again, key.PublicKey));
        Assert.True(SignatureV2.Verify(SignedKind.StateUpdate, again, key.PublicKey));
    }

    private static void RoundTrip<T>(T value)
        where T : class
    {
        var json = ProtocolModel.ToJson(value);
        var back = ProtocolModel.Parse<T>(System.Text.Encoding.UTF8.GetBytes(json));
        Assert.Equal(json, ProtocolModel.ToJson(back));

        var copy = OrleansSerializer.Deserialize<T>(OrleansSerializer.SerializeToArray(value))!;
        Assert.Equal(json, ProtocolModel.ToJson(copy));
    }
}
