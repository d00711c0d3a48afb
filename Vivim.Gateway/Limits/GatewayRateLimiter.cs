using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Vivim.Gateway.Api;
using Vivim.Gateway.Hosting;
using Vivim.Telemetry;

namespace Vivim.Gateway.Limits;

/// <summary>
/// Token buckets at this gateway: per client address, per DID, and per tenant (requests, and updates written, from the
/// tenant's quota). Each bucket holds one second's worth. A refusal is a 429 problem with <c>Retry-After</c>.
/// Every acquisition here takes one permit; updates are charged by count in <see cref="UpdateBudgets"/>.
/// </summary>
public sealed class GatewayRateLimiter : IDisposable
{
    private readonly RateLimitOptions _options;
    private readonly PartitionedRateLimiter<string> _buckets;

    private readonly UpdateBudgets _updates;

    public GatewayRateLimiter(IOptions<RateLimitOptions> options, TimeProvider time)
    {
        _options = options.Value;
        _updates = new UpdateBudgets(time);

        // The rate is part of the key, so a tenant whose quota changes gets a bucket of the new size.
        _buckets = PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetTokenBucketLimiter(key, k =>
        {
            var perSecond = int.Parse(k[(k.LastIndexOf('|') + 1)..], CultureInfo.InvariantCulture);
            return new TokenBucketRateLimiterOptions
            {
                TokenLimit = perSecond,
                TokensPerPeriod = Math.Max(1, perSecond / 10),
                ReplenishmentPeriod = TimeSpan.FromMilliseconds(100),
                QueueLimit = 0,
                AutoReplenishment = true,
            };
        }));
    }

    public void ForAddress(string? address) => Acquire($"ip:{address ?? "unknown"}", 1, _options.PerAddressPerSecond, "this client address");

    /// <summary>A libp2p remote peer: the <c>/vivim/*</c> protocols' counterpart of <see cref="ForAddress"/>, with the same budget.</summary>
    public void ForPeer(string peerId) => Acquire($"peer:{peerId}", 1, _options.PerAddressPerSecond, "this peer");

    /// <summary>Public calls about an exit node (discovery, challenge, registration), over HTTP and libp2p.</summary>
    public void ForDid(string did) => Acquire($"did:{did}", 1, _options.PerDidPerSecond, "this DID");

    /// <summary>
    /// The owner's writes to its exit node: a bucket of their own, so anonymous callers spending the public one (a
    /// registration flood) cannot refuse the tenant its writes; the tenant's own buckets bound them too.
    /// </summary>
    public void ForOwnerWrites(string did) => Acquire($"did-owner:{did}", 1, _options.PerDidPerSecond, "this DID");

    public void ForTenant(string tenantId, int perSecond) => Acquire($"tenant:{tenantId}", 1, perSecond, "this tenant");

    /// <summary>Charges the updates a write carries, every one of them (see <see cref="UpdateBudgets"/>).</summary>
    public void ForTenantUpdates(string tenantId, int updates, int perSecond) => _updates.Charge(tenantId, updates, perSecond);

    private void Acquire(string partition, int permits, int perSecond, string what)
    {
        perSecond = Math.Max(1, perSecond);
        using var lease = _buckets.AttemptAcquire($"{partition}|{perSecond}", permits);
        if (!lease.IsAcquired)
        {
            var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
            VivimMetrics.Refused("rate-limit", partition[..partition.IndexOf(':', StringComparison.Ordinal)]); // the budget's kind, never its key
            throw new RateLimitedException(what, retryAfter);
        }
    }

    public void Dispose() => _buckets.Dispose();
}

/// <summary>A bucket is empty: HTTP 429 with <c>Retry-After</c>.</summary>
public sealed class RateLimitedException(string what, TimeSpan retryAfter)
    : Exception($"Rate limit exceeded for {what}; retry after {Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds))} s.")
{
    public int RetryAfterSeconds { get; } = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));

    /// <summary>When the bucket has a token again (libp2p answers carry it in milliseconds).</summary>
    public TimeSpan RetryAfter { get; } = retryAfter;
}
