using System.Buffers.Binary;
using System.Security.Cryptography;
using NSec.Cryptography;
using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Security.Noise;

/// <summary>
/// Noise CipherState: ChaCha20-Poly1305 with a 64-bit little-endian nonce counter. Uses the BCL (OpenSSL) AEAD when the
/// platform supports it (about 2.5x faster than libsodium here), otherwise NSec/libsodium.
/// </summary>
internal sealed class CipherState : IDisposable
{
    public const int TagLength = 16;
    private static readonly AeadAlgorithm Aead = AeadAlgorithm.ChaCha20Poly1305;
    private Key? _key;
    private System.Security.Cryptography.ChaCha20Poly1305? _bcl;
    private ulong _n;

    public bool HasKey => _key is not null || _bcl is not null;

    public void InitializeKey(ReadOnlySpan<byte> key)
    {
        _key?.Dispose();
        _bcl?.Dispose();
        _key = null;
        _bcl = null;
        if (System.Security.Cryptography.ChaCha20Poly1305.IsSupported)
        {
            _bcl = new System.Security.Cryptography.ChaCha20Poly1305(key);
        }
        else
        {
            _key = Key.Import(Aead, key, KeyBlobFormat.RawSymmetricKey);
        }
        _n = 0;
    }

    private void Nonce(Span<byte> nonce)
    {
        if (_n == ulong.MaxValue)
        {
            throw new NoiseHandshakeException("noise nonce exhausted");
        }
        nonce[..4].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(nonce[4..], _n);
    }

    /// <summary>Encrypts into <paramref name="ciphertext"/> (plaintext length + 16); copies when there is no key yet.</summary>
    public int EncryptWithAd(ReadOnlySpan<byte> ad, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext)
    {
        if (!HasKey)
        {
            plaintext.CopyTo(ciphertext);
            return plaintext.Length;
        }
        Span<byte> nonce = stackalloc byte[12];
        Nonce(nonce);
        if (_bcl is not null)
        {
            _bcl.Encrypt(nonce, plaintext, ciphertext[..plaintext.Length], ciphertext.Slice(plaintext.Length, TagLength), ad);
        }
        else
        {
            Aead.Encrypt(_key!, nonce, ad, plaintext, ciphertext[..(plaintext.Length + TagLength)]);
        }
        _n++;
        return plaintext.Length + TagLength;
    }

    /// <summary>Decrypts; throws <see cref="MalformedDataException"/> when authentication fails.</summary>
    public int DecryptWithAd(ReadOnlySpan<byte> ad, ReadOnlySpan<byte> ciphertext, Span<byte> plaintext)
    {
        if (!HasKey)
        {
            ciphertext.CopyTo(plaintext);
            return ciphertext.Length;
        }
        if (ciphertext.Length < TagLength)
        {
            throw new MalformedDataException("noise ciphertext shorter than the tag");
        }
        Span<byte> nonce = stackalloc byte[12];
        Nonce(nonce);
        var len = ciphertext.Length - TagLength;
        if (_bcl is not null)
        {
            try
            {
                _bcl.Decrypt(nonce, ciphertext[..len], ciphertext[len..], plaintext[..len], ad);
            }
            catch (System.Security.Cryptography.AuthenticationTagMismatchException e)
            {
                throw new MalformedDataException("noise message failed authentication", e);
            }
        }
        else if (!Aead.Decrypt(_key!, nonce, ad, ciphertext, plaintext[..len]))
        {
            throw new MalformedDataException("noise message failed authentication");
        }
        _n++;
        return len;
    }

    public void Dispose()
    {
        _key?.Dispose();
        _bcl?.Dispose();
    }
}

/// <summary>Noise SymmetricState for Noise_XX_25519_ChaChaPoly_SHA256.</summary>
internal sealed class SymmetricState : IDisposable
{
    public static readonly byte[] ProtocolName = "Noise_XX_25519_ChaChaPoly_SHA256"u8.ToArray();
    private readonly byte[] _ck = new byte[32];
    private readonly byte[] _h = new byte[32];
    public CipherState Cipher { get; } = new();

    public SymmetricState()
    {
        ProtocolName.CopyTo(_h, 0); // exactly 32 bytes: h = name
        _h.CopyTo(_ck, 0);
    }

    public ReadOnlySpan<byte> H => _h;

    public void MixHash(ReadOnlySpan<byte> data)
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(_h);
        sha.AppendData(data);
        sha.GetHashAndReset(_h);
    }

    /// <summary>Noise HKDF (RFC 5869 with salt = ck, empty info) producing two 32-byte outputs.</summary>
    public static void Hkdf2(ReadOnlySpan<byte> chainingKey, ReadOnlySpan<byte> ikm, Span<byte> out1, Span<byte> out2)
    {
        Span<byte> temp = stackalloc byte[32];
        HMACSHA256.HashData(chainingKey, ikm, temp);
        Span<byte> input = stackalloc byte[33];
        input[0] = 1;
        HMACSHA256.HashData(temp, input[..1], out1);
        out1.CopyTo(input);
        input[32] = 2;
        HMACSHA256.HashData(temp, input, out2);
        temp.Clear();
    }

    public void MixKey(ReadOnlySpan<byte> ikm)
    {
        Span<byte> ck = stackalloc byte[32];
        Span<byte> k = stackalloc byte[32];
        Hkdf2(_ck, ikm, ck, k);
        ck.CopyTo(_ck);
        Cipher.InitializeKey(k);
        k.Clear();
    }

    public byte[] EncryptAndHash(ReadOnlySpan<byte> plaintext)
    {
        var ct = new byte[plaintext.Length + (Cipher.HasKey ? CipherState.TagLength : 0)];
        Cipher.EncryptWithAd(_h, plaintext, ct);
        MixHash(ct);
        return ct;
    }

    public byte[] DecryptAndHash(ReadOnlySpan<byte> ciphertext)
    {
        var pt = new byte[Math.Max(0, ciphertext.Length - (Cipher.HasKey ? CipherState.TagLength : 0))];
        Cipher.DecryptWithAd(_h, ciphertext, pt);
        MixHash(ciphertext);
        return pt;
    }

    public (CipherState C1, CipherState C2) Split()
    {
        Span<byte> k1 = stackalloc byte[32];
        Span<byte> k2 = stackalloc byte[32];
        Hkdf2(_ck, ReadOnlySpan<byte>.Empty, k1, k2);
        var c1 = new CipherState();
        c1.InitializeKey(k1);
        var c2 = new CipherState();
        c2.InitializeKey(k2);
        k1.Clear();
        k2.Clear();
        return (c1, c2);
    }

    public void Dispose()
    {
        Cipher.Dispose();
        Array.Clear(_ck);
    }
}

/// <summary>X25519 key pair (NSec).</summary>
internal sealed class X25519KeyPair : IDisposable
{
    private static readonly KeyAgreementAlgorithm Alg = KeyAgreementAlgorithm.X25519;
    private readonly Key _key;

    public X25519KeyPair()
    {
        _key = Key.Create(Alg);
        PublicKey = _key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    public byte[] PublicKey { get; }

    public byte[] Dh(ReadOnlySpan<byte> remotePublic)
    {
        if (!NSec.Cryptography.PublicKey.TryImport(Alg, remotePublic, KeyBlobFormat.RawPublicKey, out var pk) || pk is null)
        {
            throw new NoiseHandshakeException("invalid remote X25519 public key");
        }
        var p = new SharedSecretCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };
        using var secret = Alg.Agree(_key, pk, in p) ?? throw new NoiseHandshakeException("X25519 produced a low-order shared secret");
        return secret.Export(SharedSecretBlobFormat.RawSharedSecret);
    }

    public void Dispose() => _key.Dispose();
}
