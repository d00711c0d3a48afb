using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Vivim.Protocol.Identity;

namespace Vivim.Keys;

/// <summary>
/// Envelope encryption of the private keys the service holds: AES-256-GCM under a key-encryption key (KEK) from
/// configuration, with the owner (e.g. the DID) as associated data so a blob cannot be moved to another owner.
/// Several KEKs may be configured; new blobs use the active one, and any configured one opens old blobs (rotation).
/// </summary>
public sealed class KeyVault(IOptions<KeyVaultOptions> options)
{
    private const int NonceSize = 12;
    private const int TagSize = 16;

    public SealedKey Seal(ReadOnlySpan<byte> seed, string owner)
    {
        var (kekId, kek) = ActiveKek();
        var nonce = RandomNumberGenerator.GetBytes(NonceSize);
        var ciphertext = new byte[seed.Length + TagSize];
        using var aead = new AesGcm(kek, TagSize);
        aead.Encrypt(nonce, seed, ciphertext.AsSpan(0, seed.Length), ciphertext.AsSpan(seed.Length), AssociatedData(owner));
        return new SealedKey(kekId, owner, nonce, ciphertext);
    }

    /// <summary>Opens a sealed key. Throws <see cref="CryptographicException"/> when the blob was altered or belongs to another owner.</summary>
    public SigningKey Unseal(SealedKey sealedKey, string expectedOwner)
    {
        if (!string.Equals(sealedKey.Owner, expectedOwner, StringComparison.Ordinal))
        {
            throw new CryptographicException("The sealed key belongs to another owner.");
        }

        var kek = Kek(sealedKey.KekId);
        if (sealedKey.Ciphertext.Length != Ed25519Keys.SeedSize + TagSize || sealedKey.Nonce.Length != NonceSize)
        {
            throw new CryptographicException("The sealed key is malformed.");
        }

        var seed = new byte[Ed25519Keys.SeedSize];
        try
        {
            using var aead = new AesGcm(kek, TagSize);
            aead.Decrypt(sealedKey.Nonce, sealedKey.Ciphertext.AsSpan(0, seed.Length), sealedKey.Ciphertext.AsSpan(seed.Length), seed, AssociatedData(expectedOwner));
            return SigningKey.FromSeed(seed);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    /// <summary>True when the blob is sealed under a KEK that is no longer the active one (re-seal it).</summary>
    public bool NeedsRotation(SealedKey sealedKey) => !string.Equals(sealedKey.KekId, ActiveKek().Id, StringComparison.Ordinal);

    private static byte[] AssociatedData(string owner) => Encoding.UTF8.GetBytes("vivim-sealed-key:" + owner);

    private (string Id, byte[] Key) ActiveKek()
    {
        var id = options.Value.ActiveKeyId
            ?? throw new InvalidOperationException($"No key-encryption key is configured ({KeyVaultOptions.Section}:ActiveKeyId).");
        return (id, Kek(id));
    }

    private byte[] Kek(string id)
    {
        if (!options.Value.Keys.TryGetValue(id, out var base64))
        {
            throw new InvalidOperationException($"Key-encryption key '{id}' is not configured ({KeyVaultOptions.Section}:Keys:{id}).");
        }

        var key = Convert.FromBase64String(base64);
        return key.Length == 32
            ? key
            : throw new InvalidOperationException($"Key-encryption key '{id}' must be 32 bytes (base64), not {key.Length}.");
    }
}
