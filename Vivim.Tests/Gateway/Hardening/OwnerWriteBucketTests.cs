using Microsoft.Extensions.Options;
using Vivim.Gateway.Hosting;
using Vivim.Gateway.Limits;

namespace Vivim.Tests.Gateway.Hardening;

/// <summary>Anonymous calls about an exit node cannot spend the bucket its owner writes from (found by the flood test).</summary>
public sealed class OwnerWriteBucketTests
{
    [Fact]
    public void A_dids_public_bucket_emptied_by_anonymous_calls_leaves_its_owners_writes_their_own()
    {
        using var limiter = new GatewayRateLimiter(Options.Create(new RateLimitOptions { PerDidPerSecond = 5 }), TimeProvider.System);
        const string did = "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH";
        for (var i = 0; i < 5; i++)
        {
            limiter.ForDid(did);
        }

        Assert.Throws<RateLimitedException>(() => limiter.ForDid(did));

        // The owner's writes still have their full second's worth, and spend it apart from the public calls.
        for (var i = 0; i < 5; i++)
        {
            limiter.ForOwnerWrites(did);
        }

        Assert.Throws<RateLimitedException>(() => limiter.ForOwnerWrites(did));
    }
}
