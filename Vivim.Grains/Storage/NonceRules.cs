namespace Vivim.Storage;

/// <summary>The bounds every nonce store enforces, so that no backend stores an unbounded key.</summary>
public static class NonceRules
{
    /// <summary>The longest nonce stored (registration nonces are at most 256 characters, request nonces 128).</summary>
    public const int MaxNonceLength = 256;

    public static void Validate(NonceScope scope, string nonce)
    {
        ArgumentException.ThrowIfNullOrEmpty(scope.ExitNodeDid, nameof(scope));
        ArgumentNullException.ThrowIfNull(scope.CloneId, nameof(scope));
        ArgumentException.ThrowIfNullOrEmpty(nonce);
        if (nonce.Length > MaxNonceLength)
        {
            throw new ArgumentException($"A nonce is at most {MaxNonceLength} characters.", nameof(nonce));
        }
    }

    public static int Limit(int maxRows) => Math.Clamp(maxRows, 1, 10_000);
}
