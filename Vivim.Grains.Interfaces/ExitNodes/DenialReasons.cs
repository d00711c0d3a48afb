namespace Vivim.ExitNodes;

/// <summary>The SDK's registration denial strings, verbatim.</summary>
public static class DenialReasons
{
    public const string RateLimitExceeded = "Rate limit exceeded";
    public const string InvalidTimestamp = "Invalid timestamp";
    public const string NonceAlreadyUsed = "Nonce already used";
    public const string ChallengeRequired = "Challenge required";
    public const string InvalidIdentityProof = "Invalid identity proof";
    public const string CapacityExceeded = "Capacity exceeded";
    public const string MigrationNotAllowed = "Migration not allowed";
}
