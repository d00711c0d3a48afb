using NSec.Cryptography;

namespace Vivim.Libp2p.Core;

/// <summary>An Ed25519 identity key pair (libp2p identity).</summary>
public sealed class Ed25519Identity : IDisposable
{
    private readonly Key _key;

    private Ed25519Identity(Key key)
    {
        _key = key;
        PublicKey = new Libp2pPublicKey(KeyType.Ed25519, key.PublicKey.Export(KeyBlobFormat.RawPublicKey));
        PeerId = PeerId.FromPublicKey(PublicKey);
    }

    public Libp2pPublicKey PublicKey { get; }

    public PeerId PeerId { get; }

    /// <summary>Creates the identity from a 32-byte Ed25519 seed (RFC 8032 private key).</summary>
    public static Ed25519Identity FromSeed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != 32)
        {
            throw new ArgumentException("Ed25519 seed must be 32 bytes", nameof(seed));
        }
        var p = new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };
        return new Ed25519Identity(Key.Import(SignatureAlgorithm.Ed25519, seed, KeyBlobFormat.RawPrivateKey, in p));
    }

    public static Ed25519Identity Generate()
    {
        var p = new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };
        return new Ed25519Identity(Key.Create(SignatureAlgorithm.Ed25519, in p));
    }

    /// <summary>libp2p PrivateKey protobuf (Type=Ed25519, Data = seed || public key, 64 bytes).</summary>
    public byte[] ToPrivateKeyProtobuf()
    {
        var seed = _key.Export(KeyBlobFormat.RawPrivateKey);
        var data = new byte[64];
        seed.CopyTo(data, 0);
        PublicKey.Data.CopyTo(data.AsSpan(32));
        return new ProtoWriter().WriteVarintField(1, (ulong)KeyType.Ed25519).WriteBytesField(2, data).ToArray();
    }

    public byte[] Sign(ReadOnlySpan<byte> message) => SignatureAlgorithm.Ed25519.Sign(_key, message);

    public void Dispose() => _key.Dispose();
}
