using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Vivim.Protocol.Merkle;

/// <summary>
/// The domain-separated hashes of the v2 state tree: <c>EMPTY = SHA-256(0x00)</c>,
/// <c>leaf(k, v) = SHA-256(0x01 ‖ k ‖ v)</c>, <c>node(l, r) = SHA-256(0x02 ‖ l ‖ r)</c>.
/// </summary>
public static class MerkleHashes
{
    /// <summary>Length in bytes of keys, values and hashes.</summary>
    public const int Size = 32;

    internal const byte EmptyTag = 0x00;
    internal const byte LeafTag = 0x01;
    internal const byte NodeTag = 0x02;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static readonly byte[] EmptyHash = SHA256.HashData([EmptyTag]);

    /// <summary>The hash of an empty subtree, <c>SHA-256([0x00])</c>.</summary>
    public static ReadOnlySpan<byte> Empty => EmptyHash;

    /// <summary>Writes <c>leaf(key, value)</c> into <paramref name="destination"/> (which may overlap the inputs).</summary>
    public static void Leaf(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, Span<byte> destination)
    {
        CheckSize(key, nameof(key));
        CheckSize(value, nameof(value));
        CheckSize(destination, nameof(destination));
        Tagged(LeafTag, key, value, destination);
    }

    /// <summary>Writes <c>node(left, right)</c> into <paramref name="destination"/> (which may overlap the inputs).</summary>
    public static void Node(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right, Span<byte> destination)
    {
        CheckSize(left, nameof(left));
        CheckSize(right, nameof(right));
        CheckSize(destination, nameof(destination));
        Tagged(NodeTag, left, right, destination);
    }

    /// <summary>The tree key of a document: <c>SHA-256(utf8(path))</c>.</summary>
    /// <exception cref="ArgumentException">The path holds a lone surrogate (it has no UTF-8 form).</exception>
    public static byte[] KeyOf(string path)
    {
        var key = new byte[Size];
        KeyOf(path, key);
        return key;
    }

    /// <summary>Writes the tree key of a document, <c>SHA-256(utf8(path))</c>, into <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException">The path holds a lone surrogate (it has no UTF-8 form).</exception>
    public static void KeyOf(string path, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(path);
        CheckSize(destination, nameof(destination));
        int max = StrictUtf8.GetMaxByteCount(path.Length);
        byte[]? rented = null;
        Span<byte> buffer = max <= 1024 ? stackalloc byte[1024] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            int written;
            try
            {
                written = StrictUtf8.GetBytes(path, buffer);
            }
            catch (EncoderFallbackException e)
            {
                throw new ArgumentException("The path is not valid UTF-16 (lone surrogate).", nameof(path), e);
            }

            ShortSha256.Hash(buffer[..written], destination);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    // Callers guarantee 32-byte spans; the copy into a stack buffer first makes in-place output safe.
    internal static void Tagged(byte tag, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> destination)
    {
        Span<byte> buffer = stackalloc byte[1 + Size + Size];
        buffer[0] = tag;
        a.CopyTo(buffer[1..]);
        b.CopyTo(buffer[(1 + Size)..]);
        Hash65(buffer, destination);
    }

    /// <summary>SHA-256 of a 65-byte tagged preimage.</summary>
    /// <remarks>
    /// libcrypto's low-level SHA-256 where it loads (a quarter of the cost, see Sha256Benchmarks); else one hash
    /// context reused per thread, as the one-shot <see cref="SHA256.HashData(ReadOnlySpan{byte}, Span{byte})"/> sets
    /// up a fresh native context per call, which costs more than hashing 65 bytes.
    /// </remarks>
    internal static void Hash65(ReadOnlySpan<byte> preimage, Span<byte> destination)
    {
        if (LibcryptoSha256.IsAvailable)
        {
            LibcryptoSha256.HashUnchecked(preimage, destination);
            return;
        }

        var hasher = t_hasher ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hasher.AppendData(preimage);
        hasher.GetHashAndReset(destination);
    }

    [ThreadStatic]
    private static IncrementalHash? t_hasher;

    internal static void CheckSize(ReadOnlySpan<byte> span, string name)
    {
        if (span.Length != Size)
        {
            throw new ArgumentException($"Expected {Size} bytes, got {span.Length}.", name);
        }
    }
}
