using System.Text.Json.Nodes;
using Vivim.Protocol;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Signatures;

namespace Vivim.Tests.Protocol;

public sealed class SignatureTests
{
    private static readonly SigningKey Author = SigningKey.FromSeedHex("0101010101010101010101010101010101010101010101010101010101010101");
    private static readonly SigningKey Other = SigningKey.FromSeedHex("0202020202020202020202020202020202020202020202020202020202020202");

    private static JsonObject NewUpdate() => ProtocolJson.ParseObject($$$"""
        {"updateId":"4b1e5c1e-1111-4a4a-8b8b-000000000001","type":"memory","timestamp":1767225600000,
         "sourceDid":"{{{Author.Did}}}","sourceCloneId":"","operation":"create","path":"memoryIndex/notes/1",
         "data":{"title":"Grüße 😀","n":[1e21,0.1,5e-7],"10":{"2":true,"1":null}},"merkleProof":""}
        """);

    [Fact]
    public void The_signing_bytes_hold_a_members_canonical_form_as_a_slice()
    {
        var update = NewUpdate();
        var bytes = SignatureV2.SigningBytes(SignedKind.StateUpdate, update, "data", out var range);
        Assert.Equal(SignatureV2.SigningBytes(SignedKind.StateUpdate, update), bytes);
        Assert.Equal(Jcs.Canonicalize(update["data"]), bytes[range]);

        // Only a top-level member counts; an absent one is an empty range.
        update["data"] = new JsonObject { ["data"] = 1 };
        Assert.Equal("{\"data\":1}"u8.ToArray(), SignatureV2.SigningBytes(SignedKind.StateUpdate, update, "data", out range)[range]);
        update.Remove("data");
        SignatureV2.SigningBytes(SignedKind.StateUpdate, update, "data", out range);
        Assert.Equal(default, range);
    }

    [Fact]
    public void V1_signs_the_sorted_subset_digest_and_verifies_with_did_or_hex()
    {
        var update = NewUpdate();
        SignatureV1.SignInPlace(Author, SignedKind.StateUpdate, update);
        var signature = update["signature"]!.GetValue<string>();
        Assert.Matches("^[0-9a-f]{128}$", signature);

        var expectedInput = """{"path":"memoryIndex/notes/1","timestamp":1767225600000,"type":"memory","updateId":"4b1e5c1e-1111-4a4a-8b8b-000000000001"}"""u8;
        Assert.True(Ed25519Keys.Verify(Author.PublicKey, System.Security.Cryptography.SHA256.HashData(expectedInput), Convert.FromHexString(signature)));

        Assert.True(SignatureV1.Verify(SignedKind.StateUpdate, update, DidKey.ResolvePublicKey(Author.Did.Value)));
        Assert.True(SignatureV1.Verify(SignedKind.StateUpdate, update, DidKey.ResolvePublicKey(Author.PublicKeyHex)));
        Assert.False(SignatureV1.Verify(SignedKind.StateUpdate, update, Other.PublicKey));
    }

    [Fact]
    public void V1_leaves_data_unsigned_which_is_why_writes_need_v2()
    {
        var update = NewUpdate();
        SignatureV1.SignInPlace(Author, SignedKind.StateUpdate, update);
        SignatureV2.SignInPlace(Author, SignedKind.StateUpdate, update);

        update["data"] = new JsonObject { ["title"] = "forged" };
        Assert.True(SignatureV1.Verify(SignedKind.StateUpdate, update, Author.PublicKey));
        Assert.False(SignatureV2.Verify(SignedKind.StateUpdate, update, Author.PublicKey));
    }

    [Theory]
    [InlineData("path", "memoryIndex/notes/2")]
    [InlineData("type", "content")]
    [InlineData("updateId", "other")]
    public void V1_fails_when_a_signed_field_changes(string field, string value)
    {
        var update = NewUpdate();
        SignatureV1.SignInPlace(Author, SignedKind.StateUpdate, update);
        update[field] = value;
        Assert.False(SignatureV1.Verify(SignedKind.StateUpdate, update, Author.PublicKey));
    }

    [Fact]
    public void V2_covers_every_member_but_the_anchor_filled_ones()
    {
        var update = NewUpdate();
        SignatureV1.SignInPlace(Author, SignedKind.StateUpdate, update);
        SignatureV2.SignInPlace(Author, SignedKind.StateUpdate, update);
        Assert.True(SignatureV2.Verify(SignedKind.StateUpdate, update, Author.PublicKey));

        // The anchor fills these in after the author signed.
        update["seq"] = 42;
        update["merkleProof"] = "AQA";
        update["signature"] = new string('0', 128);
        Assert.True(SignatureV2.Verify(SignedKind.StateUpdate, update, Author.PublicKey));

        foreach (var (field, value) in new (string, JsonNode)[]
        {
            ("operation", "update"), ("sourceCloneId", "x"), ("timestamp", 1767225600001), ("baseSeq", 3), ("extra", true),
        })
        {
            var copy = update.DeepClone().AsObject();
            copy[field] = value;
            Assert.False(SignatureV2.Verify(SignedKind.StateUpdate, copy, Author.PublicKey), field);
        }

        Assert.False(SignatureV2.Verify(SignedKind.StateUpdate, update, Other.PublicKey));
    }

    [Fact]
    public void V2_is_bound_to_the_object_kind()
    {
        var obj = ProtocolJson.ParseObject("""{"did":"x","fromSeq":1,"toSeq":1}""");
        SignatureV2.SignInPlace(Author, SignedKind.Commit, obj);
        Assert.True(SignatureV2.Verify(SignedKind.Commit, obj, Author.PublicKey));
        Assert.False(SignatureV2.Verify(SignedKind.StateSnapshot, obj, Author.PublicKey));

        // For other kinds seq is covered.
        obj["seq"] = 1;
        Assert.False(SignatureV2.Verify(SignedKind.Commit, obj, Author.PublicKey));
    }

    [Fact]
    public void V2_verifies_the_JSON_as_received_in_any_member_order_and_number_spelling()
    {
        var update = NewUpdate();
        SignatureV2.SignInPlace(Author, SignedKind.StateUpdate, update);
        var proof = update["proof"]!.ToJsonString();

        // The same object as another client might write it: other member order, other number spellings.
        var received = ProtocolJson.ParseObject($$$"""
            {"proof":{{{proof}}},"merkleProof":"","path":"memoryIndex/notes/1","operation":"create",
             "data":{"10":{"1":null,"2":true},"n":[1E21,0.10,0.0000005],"title":"Gr\u00fc\u00dfe \ud83d\ude00"},
             "sourceCloneId":"","sourceDid":"{{{Author.Did}}}","timestamp":1.7672256e12,"type":"memory",
             "updateId":"4b1e5c1e-1111-4a4a-8b8b-000000000001"}
            """);
        Assert.True(SignatureV2.Verify(SignedKind.StateUpdate, received, Author.PublicKey));
    }

    [Theory]
    [InlineData("""{"a":1}""")]
    [InlineData("""{"a":1,"proof":"x"}""")]
    [InlineData("""{"a":1,"proof":{"type":"vivim-v2"}}""")]
    [InlineData("""{"a":1,"proof":{"type":"vivim-v3","signature":"00"}}""")]
    [InlineData("""{"a":1,"proof":{"type":"vivim-v2","signature":"zz"}}""")]
    [InlineData("""{"a":1,"proof":{"type":"vivim-v2","signature":"abcd"}}""")]
    [InlineData("""{"a":1,"proof":{"type":"vivim-v2","signature":"00","x":1}}""")]
    [InlineData("""{"a":1,"proof":{"type":"vivim-v2","signature":12}}""")]
    public void Misshapen_proofs_are_typed_errors(string json)
    {
        var e = Assert.Throws<SignatureFormatException>(() => SignatureV2.Verify(SignedKind.Commit, ProtocolJson.ParseObject(json), Author.PublicKey));
        Assert.Equal("invalid-signature-format", e.Code);
    }

    [Theory]
    [InlineData("")]
    [InlineData("00")]
    [InlineData("xyz")]
    public void Misshapen_v1_signatures_are_typed_errors(string signature)
    {
        var update = NewUpdate();
        update["signature"] = signature;
        Assert.Throws<SignatureFormatException>(() => SignatureV1.Verify(SignedKind.StateUpdate, update, Author.PublicKey));
        update.Remove("signature");
        Assert.Throws<SignatureFormatException>(() => SignatureV1.Verify(SignedKind.StateUpdate, update, Author.PublicKey));
    }

    [Fact]
    public void A_well_formed_but_wrong_signature_fails_without_throwing()
    {
        var update = NewUpdate();
        update["signature"] = new string('a', 128);
        Assert.False(SignatureV1.Verify(SignedKind.StateUpdate, update, Author.PublicKey));
        Assert.False(Ed25519Keys.Verify(new byte[32], "x"u8, new byte[64]));
        Assert.False(Ed25519Keys.Verify(new byte[31], "x"u8, new byte[64]));
    }

    [Fact]
    public void V1_array_replacer_filters_nested_objects_like_JavaScript()
    {
        var obj = ProtocolJson.ParseObject("""{"b":{"a":1,"b":2,"c":3},"a":"x","c":true}""");
        Assert.Equal("""{"a":"x","b":{"a":1,"b":2}}""", System.Text.Encoding.UTF8.GetString(JavaScriptJson.StringifyToUtf8(obj, ["a", "b"])));
    }
}
