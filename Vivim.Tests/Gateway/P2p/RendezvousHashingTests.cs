using Vivim.Gateway.P2p.Ownership;

namespace Vivim.Tests.Gateway.P2p;

public sealed class RendezvousHashingTests
{
    private static readonly string[] Dids = [.. Enumerable.Range(0, 30_000).Select(i => $"did:key:z6Mk{i:D8}")];

    private static string[] Gateways(int count) => [.. Enumerable.Range(0, count).Select(i => $"S10.0.0.{i + 1}:11111:4242{i}")];

    [Fact]
    public void Dids_split_evenly_over_the_gateways()
    {
        var gateways = Gateways(3);
        var shares = Dids.GroupBy(d => RendezvousHashing.OwnerOf(d, gateways)).ToDictionary(g => g.Key!, g => g.Count());

        Assert.Equal(3, shares.Count);
        foreach (var share in shares.Values)
        {
            // 10,000 expected each; a binomial spread of a few hundred at most.
            Assert.InRange(share, 9_500, 10_500);
        }
    }

    [Fact]
    public void A_gateway_leaving_moves_only_its_own_dids_and_spreads_them_over_the_survivors()
    {
        var before = Gateways(4);
        var after = before.Where(g => g != before[2]).ToArray();
        var moved = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var did in Dids)
        {
            var was = RendezvousHashing.OwnerOf(did, before)!;
            var now = RendezvousHashing.OwnerOf(did, after)!;
            if (was != before[2])
            {
                Assert.Equal(was, now); // a survivor keeps everything it had
            }
            else
            {
                moved[now] = moved.GetValueOrDefault(now) + 1;
            }
        }

        Assert.Equal(3, moved.Count);
        Assert.All(moved.Values, n => Assert.InRange(n, 2_000, 3_000)); // ~7,500 moved, a third to each survivor
    }

    [Fact]
    public void A_gateway_joining_takes_about_its_share_and_nothing_moves_between_the_others()
    {
        var before = Gateways(3);
        var after = Gateways(4);
        var taken = 0;
        foreach (var did in Dids)
        {
            var was = RendezvousHashing.OwnerOf(did, before);
            var now = RendezvousHashing.OwnerOf(did, after);
            if (now == after[3])
            {
                taken++;
            }
            else
            {
                Assert.Equal(was, now);
            }
        }

        Assert.InRange(taken, 7_000, 8_000);
    }

    [Fact]
    public void Every_gateway_computes_the_same_owner_whatever_the_order_of_its_list()
    {
        var gateways = Gateways(5);
        var reversed = gateways.Reverse().ToArray();
        Assert.All(Dids.Take(2_000), did => Assert.Equal(RendezvousHashing.OwnerOf(did, gateways), RendezvousHashing.OwnerOf(did, reversed)));
    }

    [Fact]
    public void No_gateway_owns_nothing_and_one_gateway_owns_everything()
    {
        Assert.Null(RendezvousHashing.OwnerOf(Dids[0], []));
        Assert.Equal(-1, RendezvousHashing.OwnerOf(RendezvousHashing.KeyOf(Dids[0]), []));
        var single = Gateways(1);
        Assert.All(Dids.Take(100), did => Assert.Equal(single[0], RendezvousHashing.OwnerOf(did, single)));
    }
}
