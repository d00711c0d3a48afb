using Vivim.Security;

namespace Vivim.Tests.Security;

public sealed class CallPrincipalsTests
{
    private static readonly byte[] Secret = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();

    [Fact]
    public void A_token_vouches_for_its_principal_until_it_expires_also_once_it_was_verified_before()
    {
        var clock = new ManualClock();
        var principals = new CallPrincipals(Secret, clock);
        var token = principals.Mint(CallPrincipal.ForClone("did:key:z6Mk|odd-1"), TimeSpan.FromSeconds(10));

        Assert.Equal(CallPrincipal.ForClone("did:key:z6Mk|odd-1"), principals.Verify(token));
        Assert.Equal(CallPrincipal.ForClone("did:key:z6Mk|odd-1"), principals.Verify(token)); // from the cache
        clock.Advance(TimeSpan.FromSeconds(11));
        Assert.Null(principals.Verify(token));
    }

    [Fact]
    public void Forged_altered_and_foreign_tokens_vouch_for_nothing()
    {
        var principals = new CallPrincipals(Secret);
        var token = principals.Mint(CallPrincipal.ForTenant("tabc"));
        var parts = token.Split('|');
        var otherSubject = principals.Mint(CallPrincipal.ForTenant("tother")).Split('|')[1];

        Assert.Null(principals.Verify(string.Join('|', parts[0], otherSubject, parts[2], parts[3]))); // another tenant, same MAC
        Assert.Null(principals.Verify(string.Join('|', "0", parts[1], parts[2], parts[3]))); // promoted to operator
        Assert.Null(principals.Verify(new CallPrincipals(new byte[32]).Mint(CallPrincipal.Operator)));
        Assert.Null(principals.Verify("garbage"));
        Assert.Null(principals.Verify(null));
    }

    [Fact]
    public void Minted_tokens_are_reused_while_they_have_at_least_half_their_life_left()
    {
        var clock = new ManualClock();
        var principals = new CallPrincipals(Secret, clock);
        var first = principals.Mint(CallPrincipal.Operator);
        Assert.Same(first, principals.Mint(CallPrincipal.Operator));
        clock.Advance(CallPrincipals.DefaultLifetime / 2);
        var renewed = principals.Mint(CallPrincipal.Operator);
        Assert.NotEqual(first, renewed);
        Assert.Equal(CallPrincipal.Operator, principals.Verify(renewed));
    }

    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = DateTimeOffset.UtcNow;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
