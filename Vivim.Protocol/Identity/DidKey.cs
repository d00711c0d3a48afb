using System.Diagnostics.CodeAnalysis;
using SimpleBase;

namespace Vivim.Protocol.Identity;

/// <summary>
/// A <c>did:key</c> for an Ed25519 public key: <c>did:key:z</c> + base58btc(0xed 0x01 ‖ 32-byte key), always <c>z6Mk…</c>.
/// </summary>
// Orleans generates this type's codec in Vivim.Grains.Interfaces from this assembly's metadata, which shows it no
// private members: the serialized fields are internal (InternalsVisibleTo), and the option tells the
// generator not to look for a primary constructor (it fails on a record with no constructor it can see).
[GenerateSerializer(IncludePrimaryConstructorParameters = false), Immutable, Alias("vivim.DidKey")]
public sealed record DidKey
{
    public const string Prefix = "did:key:z";

    /// <summary>did:key:z + base58btc of 34 bytes is 56 or 57 characters; anything longer is refused before decoding.</summary>
    public const int MaxLength = 64;

    private static readonly byte[] Ed25519Multicodec = [0xed, 0x01];

    private DidKey(string value, byte[] publicKey)
    {
        this.value = value;
        publicKeyBytes = publicKey;
    }

    [Id(0)]
    internal readonly string value;

    [Id(1)]
    internal readonly byte[] publicKeyBytes;

    public string Value => value;

    public ReadOnlySpan<byte> PublicKey => publicKeyBytes;

    public string PublicKeyHex => Hex.Encode(publicKeyBytes);

    public static DidKey FromPublicKey(ReadOnlySpan<byte> publicKey)
    {
        if (publicKey.Length != Ed25519Keys.PublicKeySize)
        {
            throw new DidFormatException($"An Ed25519 public key is {Ed25519Keys.PublicKeySize} bytes, got {publicKey.Length}.");
        }

        var multicodec = new byte[2 + publicKey.Length];
        Ed25519Multicodec.CopyTo(multicodec, 0);
        publicKey.CopyTo(multicodec.AsSpan(2));
        return new DidKey(Prefix + Base58.Bitcoin.Encode(multicodec), publicKey.ToArray());
    }

    public static DidKey FromPublicKeyHex(string publicKeyHex) =>
        FromPublicKey(Hex.Decode(publicKeyHex, Ed25519Keys.PublicKeySize, "public key"));

    /// <summary>Parses and validates a did:key strictly; every defect is a <see cref="DidFormatException"/> naming it.</summary>
    public static DidKey Parse(string? did)
    {
        if (string.IsNullOrEmpty(did))
        {
            throw new DidFormatException("A DID is required.");
        }

        if (did.Length > MaxLength)
        {
            throw new DidFormatException($"A did:key is at most {MaxLength} characters.");
        }

        if (!did.StartsWith(Prefix, StringComparison.Ordinal))
        {
            throw new DidFormatException("Only did:key identifiers in base58btc (\"did:key:z\") are supported.");
        }

        var encoded = did.AsSpan(Prefix.Length);
        foreach (var c in encoded)
        {
            if (!IsBase58Btc(c))
            {
                throw new DidFormatException($"'{c}' is not a base58btc character.");
            }
        }

        byte[] decoded;
        try
        {
            decoded = Base58.Bitcoin.Decode(encoded);
        }
        catch (ArgumentException e)
        {
            throw new DidFormatException($"The did:key is not valid base58btc: {e.Message}");
        }

        if (decoded.Length < 2 || decoded[0] != Ed25519Multicodec[0] || decoded[1] != Ed25519Multicodec[1])
        {
            throw new DidFormatException("The did:key does not carry the Ed25519 multicodec (0xed01).");
        }

        if (decoded.Length != 2 + Ed25519Keys.PublicKeySize)
        {
            throw new DidFormatException($"An Ed25519 did:key carries {Ed25519Keys.PublicKeySize} key bytes, got {decoded.Length - 2}.");
        }

        var key = decoded[2..];
        var canonical = FromPublicKey(key);
        if (!string.Equals(canonical.Value, did, StringComparison.Ordinal))
        {
            throw new DidFormatException("The did:key is not in canonical base58btc form.");
        }

        return canonical;
    }

    public static bool TryParse(string? did, [NotNullWhen(true)] out DidKey? result)
    {
        try
        {
            result = Parse(did);
            return true;
        }
        catch (DidFormatException)
        {
            result = null;
            return false;
        }
    }

    /// <summary>A verification key given either as a did:key or as 64 hex characters, as the SDK accepts both.</summary>
    public static byte[] ResolvePublicKey(string didOrHex) =>
        didOrHex.StartsWith("did:", StringComparison.Ordinal)
            ? Parse(didOrHex).publicKeyBytes.ToArray()
            : Hex.Decode(didOrHex, Ed25519Keys.PublicKeySize, "public key");

    public bool Equals(DidKey? other) => other is not null && string.Equals(Value, other.Value, StringComparison.Ordinal);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Value);

    public override string ToString() => Value;

    private static bool IsBase58Btc(char c) =>
        c is >= '1' and <= '9' or >= 'A' and <= 'H' or >= 'J' and <= 'N' or >= 'P' and <= 'Z' or >= 'a' and <= 'k' or >= 'm' and <= 'z';
}

public sealed class DidFormatException(string message) : ProtocolException("invalid-did", message);
