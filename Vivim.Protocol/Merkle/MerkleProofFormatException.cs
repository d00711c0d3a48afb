namespace Vivim.Protocol.Merkle;

/// <summary>
/// A Merkle proof is not in canonical form: bad base64url, wrong version or kind, truncated, trailing bytes,
/// non-zero unused bitmap bits, or an empty deepest sibling where the tree cannot have one.
/// </summary>
public sealed class MerkleProofFormatException : ProtocolException
{
    /// <summary>The <see cref="ProtocolException.Code"/> of every instance.</summary>
    public const string ErrorCode = "invalid-merkle-proof";

    public MerkleProofFormatException(string message)
        : base(ErrorCode, message)
    {
    }

    public MerkleProofFormatException(string message, Exception? inner)
        : base(ErrorCode, message, inner)
    {
    }
}
