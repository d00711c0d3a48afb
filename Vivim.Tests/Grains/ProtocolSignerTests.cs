using Vivim.ExitNodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;

namespace Vivim.Tests.Grains;

/// <summary>Signing straight into one JSON object writes the same bytes as the record → JSON → record → JSON round trip did.</summary>
public sealed class ProtocolSignerTests
{
    private static readonly SigningKey Key = SigningKey.FromSeedHex("0303030303030303030303030303030303030303030303030303030303030303");

    public static TheoryData<string, long?> Updates => new()
    {
        { """{"name":"Ada","bio":"ünïcødé 😀"}""", null },
        { """{"n":1.50,"big":12345678901234567890,"z":-0,"10":1,"2":2,"a":[1e21,0.1]}""", 41 },
        { "null", 7 },
        { "[\"\\u00e9\\n\",{\"b\":{},\"a\":[]}]", null },
    };

    [Theory]
    [MemberData(nameof(Updates))]
    public void A_signed_update_is_byte_for_byte_what_the_round_trip_wrote(string data, long? baseSeq)
    {
        var update = new StateUpdate("u-1", UpdateType.Memory, 1_767_225_600_000, Key.Did.Value, string.Empty, UpdateOperation.Create, "memoryIndex/notes", new RawJson(data), string.Empty, string.Empty, BaseSeq: baseSeq);

        var text = ProtocolSigner.StateUpdateJson(Key, update);

        Assert.Equal(RoundTripped(update), text);
        var json = ProtocolJson.ParseObject(text);
        Assert.True(SignatureV1.Verify(SignedKind.StateUpdate, json, Key.PublicKey));
        Assert.True(SignatureV2.Verify(SignedKind.StateUpdate, json, Key.PublicKey));
    }

    [Fact]
    public void An_update_the_record_cannot_hold_is_refused_as_before()
    {
        var update = new StateUpdate("u-1", UpdateType.Memory, 1, Key.Did.Value, string.Empty, UpdateOperation.Create, null!, RawJson.Null, string.Empty, string.Empty);

        Assert.Throws<ProtocolModelException>(() => ProtocolSigner.StateUpdateJson(Key, update));
    }

    [Fact]
    public void A_signed_commit_is_the_record_and_the_text_the_round_trip_gave()
    {
        var commit = new Commit(Key.Did.Value, 41, 42, new string('1', 64), [new string('2', 64), new string('3', 64)], new string('3', 64), [new string('4', 64), new string('5', 64)], 1_767_225_600_000);

        var (signed, text) = ProtocolSigner.SignCommit(Key, commit);

        var json = ProtocolModel.ToJsonObject(commit);
        SignatureV2.SignInPlace(Key, SignedKind.Commit, json);
        var expected = ProtocolModel.FromJsonObject<Commit>(json);
        Assert.Equal(ProtocolModel.ToJson(expected), text);
        Assert.Equal(ProtocolModel.ToJson(expected), ProtocolModel.ToJson(signed));
        Assert.Equal(expected.Proof, signed.Proof);
        Assert.True(SignatureV2.Verify(SignedKind.Commit, ProtocolJson.ParseObject(text), Key.PublicKey));
    }

    /// <summary>What <see cref="ProtocolSigner.StateUpdateJson"/> wrote before: sign, read back into the record, write again.</summary>
    private static string RoundTripped(StateUpdate update)
    {
        var json = ProtocolModel.ToJsonObject(update);
        SignatureV1.SignInPlace(Key, SignedKind.StateUpdate, json);
        SignatureV2.SignInPlace(Key, SignedKind.StateUpdate, json);
        return ProtocolModel.ToJson(ProtocolModel.FromJsonObject<StateUpdate>(json));
    }
}
