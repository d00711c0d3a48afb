using System.Text;
using System.Text.Json.Nodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;

namespace Vivim.Protocol.Signatures;

/// <summary>
/// The service's full signature: Ed25519 over <c>utf8("vivim-v2:" + kind + ":") ‖ JCS(object)</c>, where the object
/// loses its top-level <c>signature</c> and <c>proof</c> (and, for a StateUpdate, the anchor-filled <c>seq</c> and
/// <c>merkleProof</c>). Carried as <c>proof: {"type": "vivim-v2", "signature": hex}</c>.
/// </summary>
public static class SignatureV2
{
    public const string ProofType = "vivim-v2";

    private static readonly string[] CommonExclusions = ["signature", "proof"];
    private static readonly string[] StateUpdateExclusions = ["signature", "proof", "seq", "merkleProof"];

    /// <summary>Top-level members a kind's v2 signature does not cover.</summary>
    public static IReadOnlyCollection<string> ExcludedMembers(SignedKind kind) =>
        kind == SignedKind.StateUpdate ? StateUpdateExclusions : CommonExclusions;

    // Formatted once per kind rather than for every update checked.
    private static readonly byte[][] Prefixes = Enum.GetValues<SignedKind>().Select(k => Encoding.UTF8.GetBytes($"{ProofType}:{k}:")).ToArray();

    public static byte[] DomainPrefix(SignedKind kind) => (byte[])Prefixes[(int)kind].Clone();

    /// <summary>The exact bytes Ed25519 signs, computed from the JSON as it stands (unknown members included).</summary>
    public static byte[] SigningBytes(SignedKind kind, JsonObject obj, JsonLimits? limits = null) =>
        Jcs.CanonicalizeWithPrefix(Prefixes[(int)kind], obj, ExcludedMembers(kind), limits ?? JsonLimits.Default);

    /// <summary>
    /// The signing bytes, and where in them the canonical form of the top-level member <paramref name="member"/> lies
    /// (empty when absent): a StateUpdate's document hash comes from that slice instead of a second canonicalization.
    /// </summary>
    public static byte[] SigningBytes(SignedKind kind, JsonObject obj, string member, out Range memberRange, JsonLimits? limits = null) =>
        Jcs.CanonicalizeWithPrefix(Prefixes[(int)kind], obj, ExcludedMembers(kind), limits ?? JsonLimits.Default, member, out memberRange);

    /// <summary>Hex SHA-256 of the signing bytes: a StateUpdate's <em>update hash</em>, which commits list.</summary>
    public static string ContentHash(SignedKind kind, JsonObject obj, JsonLimits? limits = null) =>
        Hex.Encode(ShortSha256.Hash(SigningBytes(kind, obj, limits)));

    public static string Sign(SigningKey key, SignedKind kind, JsonObject obj, JsonLimits? limits = null) =>
        Hex.Encode(key.Sign(SigningBytes(kind, obj, limits)));

    /// <summary>Signs and sets <c>proof</c>; sign v1 first when both are wanted, since v2 does not cover <c>signature</c> anyway.</summary>
    public static void SignInPlace(SigningKey key, SignedKind kind, JsonObject obj, JsonLimits? limits = null) =>
        obj["proof"] = new JsonObject
        {
            ["type"] = ProofType,
            ["signature"] = Sign(key, kind, obj, limits),
        };

    /// <summary>
    /// Verifies the object's <c>proof</c>. False for a well-formed proof that does not verify; a
    /// <see cref="SignatureFormatException"/> when the proof is missing or misshapen.
    /// </summary>
    public static bool Verify(SignedKind kind, JsonObject obj, ReadOnlySpan<byte> publicKey, JsonLimits? limits = null)
    {
        var signature = ReadProofSignature(obj);
        return Ed25519Keys.Verify(publicKey, SigningBytes(kind, obj, limits), signature);
    }

    /// <summary>The 64 signature bytes of a proof shaped exactly <c>{"type":"vivim-v2","signature":"…128 hex…"}</c>.</summary>
    public static byte[] ReadProofSignature(JsonObject obj)
    {
        if (obj["proof"] is not JsonObject proof)
        {
            throw new SignatureFormatException("The object has no \"proof\" object.");
        }

        if (proof.Count != 2
            || proof["type"] is not JsonValue type || !type.TryGetValue<string>(out var typeText)
            || proof["signature"] is not JsonValue sig || !sig.TryGetValue<string>(out var sigText))
        {
            throw new SignatureFormatException("A proof has exactly the string members \"type\" and \"signature\".");
        }

        if (!string.Equals(typeText, ProofType, StringComparison.Ordinal))
        {
            throw new SignatureFormatException($"Unsupported proof type \"{typeText}\".");
        }

        return SignatureV1.DecodeSignature(sigText);
    }
}
