using System.Security.Cryptography;
using Vivim.Keys;
using Vivim.Libp2p.Core;

namespace Vivim.Gateway.P2p.Identity;

/// <summary>A peer identity's Ed25519 seed sealed by the <see cref="KeyVault"/>, bound to the silo it belongs to.</summary>
public static class SealedPeerIdentity
{
    /// <summary>The sealed key's owner (associated data): a blob of one silo does not open as another's.</summary>
    public static string Owner(string siloName) => "libp2p-peer:" + siloName;

    /// <summary>A new identity and its sealed seed.</summary>
    public static (Ed25519Identity Identity, SealedKey Sealed) Create(KeyVault vault, string siloName)
    {
        ArgumentNullException.ThrowIfNull(vault);
        var seed = RandomNumberGenerator.GetBytes(32);
        try
        {
            return (Ed25519Identity.FromSeed(seed), vault.Seal(seed, Owner(siloName)));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    /// <summary>The identity sealed again under the active KEK (rotation).</summary>
    public static SealedKey Reseal(KeyVault vault, Ed25519Identity identity, string siloName)
    {
        ArgumentNullException.ThrowIfNull(vault);
        ArgumentNullException.ThrowIfNull(identity);

        // The libp2p PrivateKey protobuf is 08 01 12 40, then the seed and the public key.
        var privateKey = identity.ToPrivateKeyProtobuf();
        try
        {
            return vault.Seal(privateKey.AsSpan(4, 32), Owner(siloName));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(privateKey);
        }
    }

    /// <exception cref="CryptographicException">The blob was altered, belongs to another silo, or its KEK is not the one configured.</exception>
    public static Ed25519Identity Open(KeyVault vault, SealedKey sealedKey, string siloName)
    {
        ArgumentNullException.ThrowIfNull(vault);
        using var key = vault.Unseal(sealedKey, Owner(siloName));
        var seed = key.ExportSeed();
        try
        {
            return Ed25519Identity.FromSeed(seed);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }
}
