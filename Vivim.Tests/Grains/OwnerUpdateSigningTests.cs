using System.Collections.Concurrent;
using Vivim.Anchors;
using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Merkle;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Protocol.Sync;

namespace Vivim.Tests.Grains;

/// <summary>
/// The anchor signs its parent's own updates once and trusts them without verifying. What it stores and hashes must be
/// exactly what the older path stored: the update signed v1 and v2, written to text, parsed, checked and verified.
/// </summary>
public sealed class OwnerUpdateSigningTests
{
    private const long Now = 1_767_225_600_000;
    private static readonly SigningKey Key = SigningKey.FromSeedHex("0303030303030303030303030303030303030303030303030303030303030303");

    public static TheoryData<string, long?, UpdateOperation> Updates => new()
    {
        { """{"name":"Ada","bio":"ünïcødé 😀"}""", null, UpdateOperation.Create },
        { """{"n":1.50,"big":12345678901234567890,"z":-0,"10":1,"2":2,"a":[1e21,0.1]}""", 41, UpdateOperation.Update },
        { "true", 7, UpdateOperation.Create },
        { "[\"\\u00e9\\n\",{\"b\":{},\"a\":[]}]", null, UpdateOperation.Create },
        { "null", 3, UpdateOperation.Delete },
    };

    [Theory]
    [MemberData(nameof(Updates))]
    public void An_owned_update_is_stored_and_hashed_as_the_verified_path_did(string data, long? baseSeq, UpdateOperation operation)
    {
        var owner = new OwnerUpdate(UpdateType.Memory, operation, "memoryIndex/notes", new RawJson(data), "u-1", baseSeq);

        var owned = UpdateCandidate.Owned(0, owner, Key, new AnchorOptions(), Now);
        var verified = UpdateCandidate.Check(0, SignedAsTheExitNodeDid(owner), new AnchorOptions(), DateTimeOffset.FromUnixTimeMilliseconds(Now), new ConcurrentDictionary<string, DidKey>(StringComparer.Ordinal));

        Assert.Null(owned.Rejection);
        Assert.Null(verified.Rejection);
        Assert.Equal(verified.UpdateHash, owned.UpdateHash);
        Assert.Equal(verified.DocumentKey, owned.DocumentKey);
        Assert.Equal(verified.DocumentValue, owned.DocumentValue);
        Assert.Equal(verified.DocumentBytes, owned.DocumentBytes);
        Assert.Equal(ProtocolModel.ToJson(verified.Update!), ProtocolModel.ToJson(owned.Update!));
        Assert.Equal(Stored(verified), Stored(owned));

        // And what is stored carries both signatures by the parent's key.
        var stored = ProtocolJson.ParseObject(Stored(owned));
        Assert.True(SignatureV1.Verify(SignedKind.StateUpdate, stored, Key.PublicKey));
        Assert.True(SignatureV2.Verify(SignedKind.StateUpdate, stored, Key.PublicKey));
    }

    [Fact]
    public void An_owned_update_obeys_the_rules_every_update_obeys()
    {
        var options = new AnchorOptions();
        UpdateRejection Refusal(OwnerUpdate owner) => UpdateCandidate.Owned(3, owner, Key, options, Now).Rejection ?? throw new Xunit.Sdk.XunitException("not refused");

        Assert.Equal(RejectionCodes.InvalidShape, Refusal(new OwnerUpdate(UpdateType.Memory, UpdateOperation.Create, null!, new RawJson("1"))).Code);
        Assert.Equal(RejectionCodes.InvalidShape, Refusal(new OwnerUpdate(UpdateType.Memory, UpdateOperation.Create, "memoryIndex/a", RawJson.Null)).Code);
        Assert.Equal(RejectionCodes.InvalidPath, Refusal(new OwnerUpdate(UpdateType.Identity, UpdateOperation.Update, "identity/did", new RawJson("\"x\""))).Code);
        Assert.Equal(RejectionCodes.InvalidShape, Refusal(new OwnerUpdate(UpdateType.Memory, UpdateOperation.Create, "memoryIndex/a", new RawJson("1"), new string('u', 129))).Code);
        var tooLarge = Refusal(new OwnerUpdate(UpdateType.Memory, UpdateOperation.Create, "memoryIndex/a", new RawJson("\"" + new string('x', options.MaxDocumentBytes) + "\"")));
        Assert.Equal(RejectionCodes.TooLarge, tooLarge.Code);
        Assert.Equal(3, tooLarge.Index);
    }

    [Fact]
    public void An_update_just_under_the_document_limit_is_measured_whole_against_the_update_limit()
    {
        // The document fits its own limit, but the update around it does not fit the update limit.
        var options = new AnchorOptions { MaxDocumentBytes = 10_000, MaxUpdateBytes = 10_200 };
        var owner = new OwnerUpdate(UpdateType.Memory, UpdateOperation.Create, "memoryIndex/a", new RawJson("\"" + new string('x', 9_990) + "\""));

        var refusal = UpdateCandidate.Owned(0, owner, Key, options, Now).Rejection;

        Assert.Equal(RejectionCodes.TooLarge, refusal?.Code);
        Assert.StartsWith("The update is ", refusal!.Reason, StringComparison.Ordinal);
        Assert.Null(UpdateCandidate.Owned(0, owner, Key, new AnchorOptions { MaxDocumentBytes = 10_000, MaxUpdateBytes = 12_000 }, Now).Rejection);
    }

    /// <summary>The older path: the exit node signed the update v1 and v2 and sent the text, which the anchor parsed and verified.</summary>
    private static string SignedAsTheExitNodeDid(OwnerUpdate owner)
    {
        var update = new StateUpdate(owner.UpdateId!, owner.Type, Now, Key.Did.Value, string.Empty, owner.Operation, owner.Path, owner.Data, string.Empty, string.Empty, BaseSeq: owner.BaseSeq);
        var json = ProtocolModel.ToJsonObject(update);
        SignatureV1.SignInPlace(Key, SignedKind.StateUpdate, json);
        SignatureV2.SignInPlace(Key, SignedKind.StateUpdate, json);
        return ProtocolModel.ToJson(ProtocolModel.FromJsonObject<StateUpdate>(json));
    }

    private static string Stored(UpdateCandidate candidate)
    {
        var batch = new TreeBatch(new SparseMerkleTree());
        batch.Apply([candidate], firstSeq: 5, new UpdateReceipt?[1]);
        return batch.Logged[0].Json;
    }
}
