using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Vivim.Keys;
using Vivim.Protocol.Identity;
using Vivim.Tests.Support;

namespace Vivim.Tests.Grains;

public sealed class KeyVaultTests
{
    private static readonly KeyVault Vault = new(Options.Create(new KeyVaultOptions
    {
        ActiveKeyId = "test",
        Keys = { ["test"] = ClusterFixture.TestKek },
    }));

    [Fact]
    public void A_sealed_key_opens_for_its_owner_and_does_not_hold_the_seed_in_clear()
    {
        using var key = SigningKey.Generate();
        var seed = key.ExportSeed();
        var sealedKey = Vault.Seal(seed, key.Did.Value);

        Assert.Equal(-1, sealedKey.Ciphertext.AsSpan().IndexOf(seed));
        Assert.DoesNotContain(Convert.ToHexString(seed), sealedKey.ToString(), StringComparison.OrdinalIgnoreCase);
        using var opened = Vault.Unseal(sealedKey, key.Did.Value);
        Assert.Equal(key.Did, opened.Did);
    }

    [Fact]
    public void A_tampered_blob_does_not_open()
    {
        using var key = SigningKey.Generate();
        var sealedKey = Vault.Seal(key.ExportSeed(), key.Did.Value);
        var ciphertext = sealedKey.Ciphertext.ToArray();
        ciphertext[3] ^= 0x01;

        Assert.ThrowsAny<CryptographicException>(() => Vault.Unseal(sealedKey with { Ciphertext = ciphertext }, key.Did.Value));
    }

    [Fact]
    public void A_blob_moved_to_another_owner_does_not_open()
    {
        using var key = SigningKey.Generate();
        using var other = SigningKey.Generate();
        var sealedKey = Vault.Seal(key.ExportSeed(), key.Did.Value);

        Assert.ThrowsAny<CryptographicException>(() => Vault.Unseal(sealedKey, other.Did.Value));
        // Relabelling the owner does not help: the owner is the AEAD's associated data.
        Assert.ThrowsAny<CryptographicException>(() => Vault.Unseal(sealedKey with { Owner = other.Did.Value }, other.Did.Value));
    }
}
