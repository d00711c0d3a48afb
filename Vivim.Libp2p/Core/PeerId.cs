using System.Security.Cryptography;
using SimpleBase;

namespace Vivim.Libp2p.Core;

/// <summary>
/// A libp2p peer ID: the multihash of a serialized PublicKey (identity multihash when ≤ 42 bytes, else sha2-256).
/// Text form is base58btc (legacy, what <see cref="ToString"/> prints); CIDv1 (libp2p-key, base32) is also parsed and produced.
/// </summary>
public sealed class PeerId : IEquatable<PeerId>
{
    public const int MaxLength = 128;
    private const int IdentityCode = 0x00;
    private const int Sha256Code = 0x12;
    private const int LibP2pKeyCodec = 0x72;

    private readonly byte[] _bytes;
    private readonly int _hash;
    private string? _text;

    private PeerId(byte[] bytes)
    {
        _bytes = bytes;
        var h = new HashCode();
        h.AddBytes(bytes);
        _hash = h.ToHashCode();
    }

    public ReadOnlySpan<byte> Bytes => _bytes;

    public byte[] ToByteArray() => (byte[])_bytes.Clone();

    public static PeerId FromPublicKey(Libp2pPublicKey key)
    {
        var pb = key.ToProtobuf();
        byte[] mh;
        if (pb.Length <= 42)
        {
            mh = new byte[2 + pb.Length];
            mh[0] = IdentityCode;
            mh[1] = (byte)pb.Length;
            pb.CopyTo(mh, 2);
        }
        else
        {
            mh = new byte[34];
            mh[0] = Sha256Code;
            mh[1] = 32;
            SHA256.HashData(pb, mh.AsSpan(2));
        }
        return new PeerId(mh);
    }

    /// <summary>Validates the multihash structure (identity or sha2-256) and wraps it.</summary>
    public static PeerId FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > MaxLength)
        {
            throw new MalformedDataException("peer id too long");
        }
        var code = Varint.Read(bytes, out var n1);
        var len = Varint.Read(bytes[n1..], out var n2);
        var digest = bytes[(n1 + n2)..];
        if ((ulong)digest.Length != len)
        {
            throw new MalformedDataException("peer id multihash length mismatch");
        }
        switch (code)
        {
            case IdentityCode:
                if (len > 42)
                {
                    throw new MalformedDataException("identity multihash peer id longer than 42 bytes");
                }
                Libp2pPublicKey.FromProtobuf(digest); // must hold a valid public key
                break;
            case Sha256Code:
                if (len != 32)
                {
                    throw new MalformedDataException("sha2-256 peer id must have a 32-byte digest");
                }
                break;
            default:
                throw new MalformedDataException($"unsupported peer id multihash code 0x{code:x}");
        }
        return new PeerId(bytes.ToArray());
    }

    /// <summary>The public key inlined in an identity peer id, or null for hashed ids.</summary>
    public Libp2pPublicKey? TryGetPublicKey() => _bytes[0] == IdentityCode ? Libp2pPublicKey.FromProtobuf(_bytes.AsSpan(2)) : null;

    public bool Matches(Libp2pPublicKey key) => Equals(FromPublicKey(key));

    public static PeerId Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0 || text.Length > 256)
        {
            throw new MalformedDataException("peer id text has an invalid length");
        }
        try
        {
            if (text[0] == '1' || text.StartsWith("Qm", StringComparison.Ordinal))
            {
                return FromBytes(Base58.Bitcoin.Decode(text));
            }
            if (text[0] == 'b')
            {
                var cid = Base32.Rfc4648.Decode(text.AsSpan(1).ToString().ToUpperInvariant());
                var version = Varint.Read(cid, out var n1);
                var codec = Varint.Read(cid.AsSpan(n1), out var n2);
                if (version != 1 || codec != LibP2pKeyCodec)
                {
                    throw new MalformedDataException("CID is not a CIDv1 libp2p-key");
                }
                return FromBytes(cid.AsSpan(n1 + n2));
            }
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
        {
            throw new MalformedDataException($"invalid peer id text '{text}'", e);
        }
        throw new MalformedDataException($"unsupported peer id text encoding '{text}'");
    }

    public static bool TryParse(string text, out PeerId? peerId)
    {
        try
        {
            peerId = Parse(text);
            return true;
        }
        catch (MalformedDataException)
        {
            peerId = null;
            return false;
        }
    }

    /// <summary>Base58btc text form ("12D3KooW..." for Ed25519).</summary>
    public override string ToString() => _text ??= Base58.Bitcoin.Encode(_bytes);

    /// <summary>CIDv1 text form, multibase base32 ("bafz...").</summary>
    public string ToCidString()
    {
        var cid = new byte[2 + _bytes.Length];
        cid[0] = 0x01;
        cid[1] = LibP2pKeyCodec;
        _bytes.CopyTo(cid, 2);
        return "b" + Base32.Rfc4648.Encode(cid, false).ToLowerInvariant();
    }

    public bool Equals(PeerId? other) => other is not null && _hash == other._hash && other._bytes.AsSpan().SequenceEqual(_bytes);

    public override bool Equals(object? obj) => Equals(obj as PeerId);

    public override int GetHashCode() => _hash;

    public static bool operator ==(PeerId? a, PeerId? b) => a is null ? b is null : a.Equals(b);

    public static bool operator !=(PeerId? a, PeerId? b) => !(a == b);
}
