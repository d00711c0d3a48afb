using NSec.Cryptography;

namespace Vivim.Protocol.Identity;

/// <summary>Ed25519 (RFC 8032) through libsodium: key sizes and verification.</summary>
public static class Ed25519Keys
{
    public const int SeedSize = 32;
    public const int PublicKeySize = 32;
    public const int SignatureSize = 64;

    internal static SignatureAlgorithm Algorithm => SignatureAlgorithm.Ed25519;

    /// <summary>Verifies a raw Ed25519 signature; a key that is not a valid curve point simply fails.</summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != PublicKeySize || signature.Length != SignatureSize)
        {
            return false;
        }

        return PublicKey.TryImport(Algorithm, publicKey, KeyBlobFormat.RawPublicKey, out var key)
            && Algorithm.Verify(key!, data, signature);
    }
}
