using System.Runtime.InteropServices;
using System.Security.Cryptography;
using NSec.Cryptography;

namespace Vivim.Protocol.Identity;

/// <summary>
/// An Ed25519 private key with its did:key. The seed is kept in pinned memory and zeroed on dispose. Signing does not
/// go through an NSec key object: each one takes libsodium secure memory (a few memory mappings, whose unmapping
/// flushes every core's TLB) and re-derives the public key, which cost more than the signature itself when created
/// per signature, and a silo hosting tens of thousands of active DIDs cannot keep one per key alive (the kernel
/// limits mappings). libsodium signs directly with its 64-byte secret key form, seed ‖ public key, kept here.
/// </summary>
public sealed class SigningKey : IDisposable
{
    private readonly byte[] _seed;
    private readonly byte[] _secretKey;
    private bool _disposed;

    private SigningKey(byte[] seed)
    {
        _seed = seed;
        using (var key = Key.Import(Ed25519Keys.Algorithm, _seed, KeyBlobFormat.RawPrivateKey))
        {
            PublicKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        }

        _secretKey = GC.AllocateUninitializedArray<byte>(Ed25519Keys.SeedSize + Ed25519Keys.PublicKeySize, pinned: true);
        _seed.CopyTo(_secretKey, 0);
        PublicKey.CopyTo(_secretKey, Ed25519Keys.SeedSize);
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
        ObjectDisposedException.ThrowIf(_disposed, this);
        var signature = new byte[Ed25519Keys.SignatureSize];
        if (Libsodium.crypto_sign_ed25519_detached(signature, out _, in MemoryMarshal.GetReference(data), (ulong)data.Length, _secretKey) != 0)
        {
            throw new CryptographicException("libsodium failed to sign.");
        }

        return signature;
    }

    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_seed);
        CryptographicOperations.ZeroMemory(_secretKey);
    }

    /// <summary>The libsodium that NSec loads (its package ships it for every runtime); NSec has initialized it before any key exists.</summary>
    private static class Libsodium
    {
        [DllImport("libsodium", CallingConvention = CallingConvention.Cdecl)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.AssemblyDirectory | DllImportSearchPath.SafeDirectories)]
        internal static extern int crypto_sign_ed25519_detached(byte[] signature, out ulong signatureLength, in byte message, ulong messageLength, byte[] secretKey);
    }
}

public sealed class KeyFormatException(string message) : ProtocolException("invalid-key", message);
