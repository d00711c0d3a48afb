using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;

namespace Vivim.Protocol.Signatures;

/// <summary>
/// The SDK 1.x rule: <c>hex(Ed25519(SHA-256(utf8(JSON.stringify(subset, Object.keys(subset).sort())))))</c> over a
/// fixed field subset per kind. It leaves data, operations and trust payloads unsigned, so it is only for
/// compatibility; <see cref="SignatureV2"/> is what the service trusts.
/// </summary>
public static class SignatureV1
{
    public static IReadOnlyList<string> StateSnapshotFields { get; } = ["merkleRoot", "snapshotId"];

    public static IReadOnlyList<string> StateUpdateFields { get; } = ["path", "timestamp", "type", "updateId"];

    public static IReadOnlyList<string> TrustProofFields { get; } = ["issuer", "target", "timestamp", "type"];

    public static IReadOnlyList<string> AnchorStateFields { get; } = ["cloneId", "did", "merkleRoot", "stateCid", "timestamp"];

    /// <summary>The registration identity proof: the clone signs <c>{challenge, nonce}</c>.</summary>
    public static IReadOnlyList<string> IdentityProofFields { get; } = ["challenge", "nonce"];

    /// <summary>The fields v1 signs for a kind; an advertisement has no v1 signature of its own, nor has a commit.</summary>
    public static IReadOnlyList<string> FieldsOf(SignedKind kind) => kind switch
    {
        SignedKind.StateSnapshot => StateSnapshotFields,
        SignedKind.StateUpdate => StateUpdateFields,
        SignedKind.TrustProof => TrustProofFields,
        SignedKind.AnchorState => AnchorStateFields,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "This kind has no v1 signature."),
    };

    /// <summary>
    /// The bytes that get signed: SHA-256 of the sorted-key <c>JSON.stringify</c> of the subset. Fields absent from the
    /// object are dropped, as <c>undefined</c> members are in JavaScript.
    /// </summary>
    public static byte[] Digest(JsonObject source, IReadOnlyList<string> fields)
    {
        var sorted = fields.Order(StringComparer.Ordinal).ToArray();
        // An array replacer both orders the keys and filters nested objects to the same names, as in the SDK.
        var json = JavaScriptJson.StringifyToUtf8(source, sorted);
        return ShortSha256.Hash(json);
    }

    public static string Sign(SigningKey key, JsonObject source, IReadOnlyList<string> fields) =>
        Hex.Encode(key.Sign(Digest(source, fields)));

    /// <summary>Signs <paramref name="obj"/> under its kind's subset and stores the hex in its <c>signature</c> member.</summary>
    public static void SignInPlace(SigningKey key, SignedKind kind, JsonObject obj) =>
        obj["signature"] = Sign(key, obj, FieldsOf(kind));

    /// <summary>Verifies a hex v1 signature; false when it does not verify, a <see cref="SignatureFormatException"/> when it is not 128 hex characters.</summary>
    public static bool Verify(JsonObject source, IReadOnlyList<string> fields, string? signatureHex, ReadOnlySpan<byte> publicKey)
    {
        var signature = DecodeSignature(signatureHex);
        return Ed25519Keys.Verify(publicKey, Digest(source, fields), signature);
    }

    /// <summary>Verifies the object's own <c>signature</c> member under its kind's subset.</summary>
    public static bool Verify(SignedKind kind, JsonObject obj, ReadOnlySpan<byte> publicKey) =>
        Verify(obj, FieldsOf(kind), ReadSignatureMember(obj), publicKey);

    /// <summary>The 64 bytes of the object's <c>signature</c> member; a <see cref="SignatureFormatException"/> when it is missing or not 128 hex characters.</summary>
    public static byte[] ReadSignature(JsonObject obj) => DecodeSignature(ReadSignatureMember(obj));

    internal static byte[] DecodeSignature(string? signatureHex)
    {
        try
        {
            return Hex.Decode(signatureHex, Ed25519Keys.SignatureSize, "signature");
        }
        catch (HexFormatException e)
        {
            throw new SignatureFormatException(e.Message);
        }
    }

    private static string ReadSignatureMember(JsonObject obj) =>
        obj["signature"] is JsonValue value && value.TryGetValue<string>(out var text)
            ? text
            : throw new SignatureFormatException("The object has no string \"signature\" member.");
}
