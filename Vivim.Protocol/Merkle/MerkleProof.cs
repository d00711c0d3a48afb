using System.Buffers.Binary;
using System.Numerics;

namespace Vivim.Protocol.Merkle;

/// <summary>What a <see cref="MerkleProof"/> ends in, and therefore what it can prove.</summary>
public enum MerkleProofKind : byte
{
    /// <summary>The key's own leaf: proves presence with a value.</summary>
    Inclusion = 0x00,

    /// <summary>An empty subtree on the key's path: proves absence.</summary>
    NonInclusionEmpty = 0x01,

    /// <summary>Another key's leaf sitting on the key's path: proves absence.</summary>
    NonInclusionLeaf = 0x02,
}

/// <summary>
/// An inclusion or non-inclusion proof for one key of a <see cref="SparseMerkleTree"/>, in the canonical binary form
/// (version, kind, optional other leaf, depth, sibling bitmap, non-empty siblings) or its base64url text.
/// Instances are immutable.
/// </summary>
public sealed class MerkleProof
{
    /// <summary>The only format version.</summary>
    public const byte FormatVersion = 0x01;

    /// <summary>The largest possible encoded length (kind 2, 256 non-empty siblings).</summary>
    public const int MaxEncodedLength = 2 + 64 + 2 + 32 + (256 * 32);

    private const int Size = MerkleHashes.Size;

    private readonly byte[]? _otherKey;
    private readonly byte[]? _otherValue;
    private readonly byte[] _bitmap;
    private readonly byte[] _siblings;

    // Trusted: the tree and Decode hand over already canonical parts.
    internal MerkleProof(MerkleProofKind kind, int depth, byte[]? otherKey, byte[]? otherValue, byte[] bitmap, byte[] siblings)
    {
        Kind = kind;
        Depth = depth;
        _otherKey = otherKey;
        _otherValue = otherValue;
        _bitmap = bitmap;
        _siblings = siblings;
    }

    /// <summary>What the proof ends in.</summary>
    public MerkleProofKind Kind { get; }

    /// <summary>The depth of the terminal, i.e. the number of siblings (0..256).</summary>
    public int Depth { get; }

    /// <summary>For <see cref="MerkleProofKind.NonInclusionLeaf"/>: the key of the leaf found instead; otherwise empty.</summary>
    public ReadOnlySpan<byte> OtherKey => _otherKey;

    /// <summary>For <see cref="MerkleProofKind.NonInclusionLeaf"/>: the value of the leaf found instead; otherwise empty.</summary>
    public ReadOnlySpan<byte> OtherValue => _otherValue;

    /// <summary>Whether the sibling at <paramref name="depth"/> (0 = the root's children) is the empty subtree.</summary>
    public bool IsSiblingEmpty(int depth)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(depth);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(depth, Depth);
        return !BitmapBit(_bitmap, depth);
    }

    /// <summary>The sibling hash at <paramref name="depth"/> (0 = the root's children); EMPTY where the bitmap says so.</summary>
    public ReadOnlySpan<byte> GetSibling(int depth)
    {
        if (IsSiblingEmpty(depth))
        {
            return MerkleHashes.Empty;
        }

        int index = 0;
        for (int i = 0; i < depth >> 3; i++)
        {
            index += BitOperations.PopCount(_bitmap[i]);
        }

        int partial = depth & 7;
        if (partial != 0)
        {
            index += BitOperations.PopCount((uint)(_bitmap[depth >> 3] >> (8 - partial)));
        }

        return _siblings.AsSpan(index * Size, Size);
    }

    /// <summary>Parses the binary form, checking that it is canonical.</summary>
    /// <exception cref="MerkleProofFormatException">The bytes are not a canonical proof.</exception>
    public static MerkleProof Decode(ReadOnlySpan<byte> data)
    {
        if (data.Length < 4)
        {
            throw new MerkleProofFormatException("Merkle proof is truncated.");
        }

        if (data.Length > MaxEncodedLength)
        {
            throw new MerkleProofFormatException("Merkle proof is longer than any valid proof.");
        }

        if (data[0] != FormatVersion)
        {
            throw new MerkleProofFormatException($"Unknown Merkle proof version {data[0]}.");
        }

        if (data[1] > (byte)MerkleProofKind.NonInclusionLeaf)
        {
            throw new MerkleProofFormatException($"Unknown Merkle proof kind {data[1]}.");
        }

        var kind = (MerkleProofKind)data[1];
        int offset = 2;
        byte[]? otherKey = null;
        byte[]? otherValue = null;
        if (kind == MerkleProofKind.NonInclusionLeaf)
        {
            if (data.Length < offset + (2 * Size) + 2)
            {
                throw new MerkleProofFormatException("Merkle proof is truncated.");
            }

            otherKey = data.Slice(offset, Size).ToArray();
            otherValue = data.Slice(offset + Size, Size).ToArray();
            offset += 2 * Size;
        }

        int depth = BinaryPrimitives.ReadUInt16BigEndian(data[offset..]);
        offset += 2;
        if (depth > 256)
        {
            throw new MerkleProofFormatException($"Merkle proof depth {depth} exceeds 256.");
        }

        int bitmapLength = (depth + 7) >> 3;
        if (data.Length < offset + bitmapLength)
        {
            throw new MerkleProofFormatException("Merkle proof is truncated.");
        }

        byte[] bitmap = data.Slice(offset, bitmapLength).ToArray();
        offset += bitmapLength;
        if ((depth & 7) != 0 && (bitmap[^1] & (0xFF >> (depth & 7))) != 0)
        {
            throw new MerkleProofFormatException("Merkle proof bitmap has non-zero unused bits.");
        }

        int present = 0;
        foreach (byte b in bitmap)
        {
            present += BitOperations.PopCount(b);
        }

        if (data.Length - offset != present * Size)
        {
            throw new MerkleProofFormatException(data.Length - offset < present * Size
                ? "Merkle proof is truncated."
                : "Merkle proof has trailing bytes.");
        }

        // In a compacted tree a leaf always has a non-empty sibling, so an empty one here is never canonical.
        if (kind != MerkleProofKind.NonInclusionEmpty && depth > 0 && !BitmapBit(bitmap, depth - 1))
        {
            throw new MerkleProofFormatException("Merkle proof ends in a leaf whose sibling is empty.");
        }

        return new MerkleProof(kind, depth, otherKey, otherValue, bitmap, data[offset..].ToArray());
    }

    /// <summary>Parses the base64url (unpadded) text form, checking that it is canonical.</summary>
    /// <exception cref="MerkleProofFormatException">The text is not a canonical proof.</exception>
    public static MerkleProof FromBase64Url(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > ((MaxEncodedLength * 4) + 2) / 3)
        {
            throw new MerkleProofFormatException("Merkle proof is longer than any valid proof.");
        }

        byte[] data = StrictBase64Url.TryDecode(text)
            ?? throw new MerkleProofFormatException("Merkle proof is not canonical unpadded base64url.");
        return Decode(data);
    }

    /// <summary>The canonical binary form.</summary>
    public byte[] Encode()
    {
        var data = new byte[EncodedLength];
        Encode(data);
        return data;
    }

    private int EncodedLength => 2 + (Kind == MerkleProofKind.NonInclusionLeaf ? 2 * Size : 0) + 2 + _bitmap.Length + _siblings.Length;

    private void Encode(Span<byte> data)
    {
        data[0] = FormatVersion;
        data[1] = (byte)Kind;
        int offset = 2;
        if (Kind == MerkleProofKind.NonInclusionLeaf)
        {
            _otherKey.AsSpan().CopyTo(data[offset..]);
            _otherValue.AsSpan().CopyTo(data[(offset + Size)..]);
            offset += 2 * Size;
        }

        BinaryPrimitives.WriteUInt16BigEndian(data[offset..], (ushort)Depth);
        offset += 2;
        _bitmap.AsSpan().CopyTo(data[offset..]);
        _siblings.AsSpan().CopyTo(data[(offset + _bitmap.Length)..]);
    }

    /// <summary>
    /// Whether <paramref name="text"/> is exactly this proof's canonical text form (<see cref="ToBase64Url"/>), compared
    /// without building that string: a clone compares each received proof with its own tree's.
    /// </summary>
    public bool HasText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int length = EncodedLength;
        if (text.Length != StrictBase64Url.EncodedLength(length))
        {
            return false;
        }

        var bytes = System.Buffers.ArrayPool<byte>.Shared.Rent(length);
        var chars = System.Buffers.ArrayPool<char>.Shared.Rent(text.Length);
        try
        {
            Encode(bytes.AsSpan(0, length));
            StrictBase64Url.Encode(bytes.AsSpan(0, length), chars.AsSpan(0, text.Length));
            return text.AsSpan().SequenceEqual(chars.AsSpan(0, text.Length));
        }
        finally
        {
            System.Buffers.ArrayPool<char>.Shared.Return(chars);
            System.Buffers.ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    /// <summary>The canonical text form: <see cref="Encode"/> as base64url without padding.</summary>
    public string ToBase64Url() => StrictBase64Url.Encode(Encode());

    /// <inheritdoc/>
    public override string ToString() => ToBase64Url();

    /// <summary>
    /// Checks the claim "<paramref name="key"/> is present with <paramref name="value"/>" (value non-null) or
    /// "<paramref name="key"/> is absent" (value null) against <paramref name="root"/>. A proof that does not
    /// establish the claim yields false; it never throws for that.
    /// </summary>
    /// <exception cref="ArgumentException">root, key or a non-null value is not 32 bytes.</exception>
    public bool Verify(ReadOnlySpan<byte> root, ReadOnlySpan<byte> key, byte[]? value) =>
        value is null ? VerifyNonInclusion(root, key) : VerifyInclusion(root, key, value);

    /// <summary>Checks that <paramref name="key"/> is present with <paramref name="value"/> under <paramref name="root"/>.</summary>
    /// <exception cref="ArgumentException">root, key or value is not 32 bytes.</exception>
    public bool VerifyInclusion(ReadOnlySpan<byte> root, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        MerkleHashes.CheckSize(root, nameof(root));
        MerkleHashes.CheckSize(key, nameof(key));
        MerkleHashes.CheckSize(value, nameof(value));
        if (Kind != MerkleProofKind.Inclusion)
        {
            return false;
        }

        Span<byte> h = stackalloc byte[Size];
        MerkleHashes.Tagged(MerkleHashes.LeafTag, key, value, h);
        return Climb(h, Key256.Read(key), root);
    }

    /// <summary>Checks that <paramref name="key"/> is absent under <paramref name="root"/>.</summary>
    /// <exception cref="ArgumentException">root or key is not 32 bytes.</exception>
    public bool VerifyNonInclusion(ReadOnlySpan<byte> root, ReadOnlySpan<byte> key)
    {
        MerkleHashes.CheckSize(root, nameof(root));
        MerkleHashes.CheckSize(key, nameof(key));
        var k = Key256.Read(key);
        Span<byte> h = stackalloc byte[Size];
        switch (Kind)
        {
            case MerkleProofKind.NonInclusionEmpty:
                MerkleHashes.Empty.CopyTo(h);
                break;
            case MerkleProofKind.NonInclusionLeaf:
                // The other leaf only proves absence if it sits on this key's path and is not this key.
                var other = Key256.Read(_otherKey);
                if (Key256.FirstDifference(k, other) < Depth || key.SequenceEqual(_otherKey))
                {
                    return false;
                }

                MerkleHashes.Tagged(MerkleHashes.LeafTag, _otherKey, _otherValue, h);
                break;
            default:
                return false;
        }

        return Climb(h, k, root);
    }

    private bool Climb(Span<byte> h, in Key256 key, ReadOnlySpan<byte> root)
    {
        int next = _siblings.Length;
        for (int i = Depth - 1; i >= 0; i--)
        {
            ReadOnlySpan<byte> sibling;
            if (BitmapBit(_bitmap, i))
            {
                next -= Size;
                sibling = _siblings.AsSpan(next, Size);
            }
            else
            {
                sibling = MerkleHashes.Empty;
            }

            if (key.Bit(i) == 0)
            {
                MerkleHashes.Tagged(MerkleHashes.NodeTag, h, sibling, h);
            }
            else
            {
                MerkleHashes.Tagged(MerkleHashes.NodeTag, sibling, h, h);
            }
        }

        return h.SequenceEqual(root);
    }

    private static bool BitmapBit(byte[] bitmap, int i) => ((bitmap[i >> 3] >> (7 - (i & 7))) & 1) != 0;
}
