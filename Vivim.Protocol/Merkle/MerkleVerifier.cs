namespace Vivim.Protocol.Merkle;

/// <summary>
/// Checks Merkle proofs without a tree: all a client needs is the signed root, the document's path (or key), its
/// value hash (or null to check absence) and the proof text.
/// </summary>
public static class MerkleVerifier
{
    /// <summary>Verifies a base64url proof for a 32-byte key; <paramref name="value"/> null means "absent".</summary>
    /// <returns>Whether the proof establishes the claim under <paramref name="root"/>.</returns>
    /// <exception cref="MerkleProofFormatException">The proof text is not a canonical proof.</exception>
    /// <exception cref="ArgumentException">root, key or a non-null value is not 32 bytes.</exception>
    public static bool Verify(ReadOnlySpan<byte> root, ReadOnlySpan<byte> key, byte[]? value, string proofBase64Url) =>
        MerkleProof.FromBase64Url(proofBase64Url).Verify(root, key, value);

    /// <summary>Verifies a base64url proof for a document path; <paramref name="valueHash"/> null means "absent".</summary>
    /// <param name="rootHex">The root as 64 hex digits (either case).</param>
    /// <param name="path">The document path; its key is <c>SHA-256(utf8(path))</c>.</param>
    /// <param name="valueHash">SHA-256 of the document's JCS bytes, or null to check that the document is absent.</param>
    /// <param name="proofBase64Url">The proof text.</param>
    /// <exception cref="MerkleProofFormatException">The proof text is not a canonical proof.</exception>
    /// <exception cref="ArgumentException">rootHex is not 64 hex digits, or valueHash is not 32 bytes.</exception>
    public static bool Verify(string rootHex, string path, byte[]? valueHash, string proofBase64Url)
    {
        ArgumentNullException.ThrowIfNull(rootHex);
        byte[] root;
        try
        {
            root = Convert.FromHexString(rootHex);
        }
        catch (FormatException e)
        {
            throw new ArgumentException("The root is not hex.", nameof(rootHex), e);
        }

        MerkleHashes.CheckSize(root, nameof(rootHex));
        Span<byte> key = stackalloc byte[MerkleHashes.Size];
        MerkleHashes.KeyOf(path, key);
        return Verify(root, key, valueHash, proofBase64Url);
    }
}
