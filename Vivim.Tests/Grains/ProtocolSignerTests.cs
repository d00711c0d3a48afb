using Vivim.ExitNodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;

namespace Vivim.Tests.Grains;

/// <summary>Signing a commit straight into one JSON object writes the same bytes as the record → JSON → record → JSON round trip did.</summary>
public sealed class ProtocolSignerTests
{
    private static readonly SigningKey Key = SigningKey.FromSeedHex("0303030303030303030303030303030303030303030303030303030303030303");

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
}
