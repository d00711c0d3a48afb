using System.Security.Cryptography;
using NSec.Cryptography;

namespace Vivim.Protocol.Identity;

/// <summary>
/// An Ed25519 private key with its did:key. The seed is kept in pinned memory and zeroed on dispose; libsodium's
/// key object is created only for the duration of a signature. Keeping one alive per key would cost each key
/// libsodium secure memory (a few memory mappings per key), and a silo hosting tens of thousands of active DIDs
/// would run into the kernel's limit on mappings.
/// </summary>
public sealed class SigningKey : IDisposable
{
    private readonly byte[] _seed;
    private bool _disposed;

    private SigningKey(byte[] seed)
    {
        _seed = seed;
        using var key = Import();
        PublicKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        Did = DidKey.FromPublicKey(PublicKey);
    }

    public byte[] PublicKey { get; }

    public DidKey Did { get; }

    public string PublicKeyHex => Hex.Encode(PublicKey);

    public static SigningKey FromSeed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != Ed25519Keys.SeedSize)
        {
            throw new KeyFormatException($"An Ed25519 seed is {Ed25519Keys.SeedSize} bytes, got {seed.Length}.");
        }

        var pinned = GC.AllocateUninitializedArray<byte>(Ed25519Keys.SeedSize, pinned: true);
        seed.CopyTo(pinned);
        return new SigningKey(pinned);
    }

    public static SigningKey FromSeedHex(string seedHex) =>
        FromSeed(Hex.Decode(seedHex, Ed25519Keys.SeedSize, "Ed25519 seed"));

    public static SigningKey Generate()
    {
        var seed = GC.AllocateUninitializedArray<byte>(Ed25519Keys.SeedSize, pinned: true);
        RandomNumberGenerator.Fill(seed);
        return new SigningKey(seed);
    }

    /// <summary>The 32-byte seed, for envelope encryption at rest. Never log it.</summary>
    public byte[] ExportSeed()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return (byte[])_seed.Clone();
    }

    public byte[] Sign(ReadOnlySpan<byte> data)
    {
        using var key = Import();
        return Ed25519Keys.Algorithm.Sign(key, data);
    }

    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_seed);
    }

    private Key Import()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Key.Import(Ed25519Keys.Algorithm, _seed, KeyBlobFormat.RawPrivateKey);
    }
}

public sealed class KeyFormatException(string message) : ProtocolException("invalid-key", message);
