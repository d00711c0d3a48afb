using NSec.Cryptography;

namespace Vivim.Libp2p.Core;

/// <summary>A libp2p public key as carried in the PublicKey protobuf. Only Ed25519 can verify signatures here.</summary>
public sealed class Libp2pPublicKey : IEquatable<Libp2pPublicKey>
{
    /// <summary>Upper bound for a serialized PublicKey we accept (RSA 4096 DER ~ 550 bytes).</summary>
    public const int MaxEncodedLength = 1024;

    private readonly byte[] _data;

    public Libp2pPublicKey(KeyType type, ReadOnlySpan<byte> data)
    {
        if (type == KeyType.Ed25519 && data.Length != 32)
        {
            throw new MalformedDataException($"Ed25519 public key must be 32 bytes, got {data.Length}");
        }
        Type = type;
        _data = data.ToArray();
    }

    public KeyType Type { get; }

    public ReadOnlySpan<byte> Data => _data;

    /// <summary>Deterministic PublicKey protobuf: field 1 (Type) always present, then field 2 (Data).</summary>
    public byte[] ToProtobuf() => new ProtoWriter().WriteVarintField(1, (ulong)Type).WriteBytesField(2, _data).ToArray();

    /// <summary>Decodes a PublicKey protobuf; both fields are required; unknown fields are rejected.</summary>
    public static Libp2pPublicKey FromProtobuf(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length > MaxEncodedLength)
        {
            throw new MalformedDataException($"PublicKey protobuf of {encoded.Length} bytes exceeds {MaxEncodedLength}");
        }
        var r = new ProtoReader(encoded);
        ulong? type = null;
        byte[]? data = null;
        while (r.TryReadTag(out var field, out var wt))
        {
            switch (field)
            {
                case 1:
                    ProtoReader.Expect(wt, 0, field);
                    type = r.ReadVarint();
                    break;
                case 2:
                    ProtoReader.Expect(wt, 2, field);
                    data = r.ReadBytes().ToArray();
                    break;
                default:
                    throw new MalformedDataException($"unexpected field {field} in PublicKey");
            }
        }
        if (type is null || data is null)
        {
            throw new MalformedDataException("PublicKey is missing Type or Data");
        }
        if (type.Value > 3)
        {
            throw new MalformedDataException($"unknown key type {type.Value}");
        }
        return new Libp2pPublicKey((KeyType)type.Value, data);
    }

    public bool Verify(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (Type != KeyType.Ed25519)
        {
            throw new NotSupportedException($"signature verification for {Type} keys is not implemented");
        }
        if (signature.Length != 64)
        {
            return false;
        }
        if (!PublicKey.TryImport(SignatureAlgorithm.Ed25519, _data, KeyBlobFormat.RawPublicKey, out var pk) || pk is null)
        {
            return false;
        }
        return SignatureAlgorithm.Ed25519.Verify(pk, message, signature);
    }

    public PeerId ToPeerId() => PeerId.FromPublicKey(this);

    public bool Equals(Libp2pPublicKey? other) => other is not null && other.Type == Type && other._data.AsSpan().SequenceEqual(_data);

    public override bool Equals(object? obj) => Equals(obj as Libp2pPublicKey);

    public override int GetHashCode() => HashCode.Combine(Type, _data.Length > 0 ? _data[0] : 0, _data.Length);
}
