using System.Collections.Concurrent;
using System.Security.Cryptography;
using Vivim.Tenants;

namespace Vivim.Gateway.Auth;

/// <summary>
/// The tenant grants this gateway may still answer from without asking the tenant: each for its
/// <see cref="TenantGrant.Lease"/>, counted from before the question was sent, so it runs out before the tenant's own
/// wait after a revocation does. Only accepted keys are kept, and only for the exact secret that was accepted.
/// </summary>
public sealed class TenantKeyGrants(TimeProvider time)
{
    // Far more keys than one gateway sees within a lease; past it the cache starts again rather than grow.
    private const int MaxKept = 10_000;

    private readonly ConcurrentDictionary<(string TenantId, string KeyId), Kept> _kept = new();

    /// <summary>A grant for this key that has not run out, or null: then ask the tenant and <see cref="Keep"/> its answer.</summary>
    public TenantGrant? Find(string tenantId, string keyId, ReadOnlySpan<byte> secretHash)
    {
        return _kept.TryGetValue((tenantId, keyId), out var kept)
            && time.GetTimestamp() < kept.Until
            && CryptographicOperations.FixedTimeEquals(kept.SecretHash, secretHash)
            ? kept.Grant
            : null;
    }

    /// <summary>The moment a question is sent: a grant's lease counts from here.</summary>
    public long Asking() => time.GetTimestamp();

    /// <summary>Keeps an accepted key's grant for its lease, counted from <paramref name="askedAt"/>.</summary>
    public void Keep(string tenantId, string keyId, byte[] secretHash, TenantGrant grant, long askedAt)
    {
        ArgumentNullException.ThrowIfNull(grant);
        if (grant.Lease <= TimeSpan.Zero)
        {
            return;
        }

        if (_kept.Count >= MaxKept)
        {
            _kept.Clear();
        }

        var until = askedAt + (long)(grant.Lease.TotalSeconds * time.TimestampFrequency);
        _kept[(tenantId, keyId)] = new Kept(secretHash, grant, until);
    }

    private sealed record Kept(byte[] SecretHash, TenantGrant Grant, long Until);
}
