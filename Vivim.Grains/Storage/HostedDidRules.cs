namespace Vivim.Storage;

/// <summary>The checks every hosted-DID directory applies, whatever stores it.</summary>
internal static class HostedDidRules
{
    public const int MaxLimit = 10_000;

    public static void Validate(string did, string tenantId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(did);
        ArgumentException.ThrowIfNullOrWhiteSpace(tenantId);
    }

    public static int Limit(int limit) => Math.Clamp(limit, 1, MaxLimit);
}
