using Vivim.Protocol.Discovery;
using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.TestingHost;
using Vivim.ExitNodes;
using Vivim.Feeds;
using Vivim.Gateway.P2p;
using Vivim.Gateway.P2p.Discovery;
using Vivim.Hosting;
using Vivim.Keys;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Security;
using Vivim.Storage;
using Vivim.Tests.Libp2p;
using Vivim.Tests.Support;

namespace Vivim.Tests.Gateway.P2p;

/// <summary>
/// A gateway silo on a clock the test advances, with its real libp2p peer: provides go out no faster than
/// <c>ProvidesPerSecond</c>, every key is provided again after 22 h and not before, and the advertisements name the peer.
/// </summary>
public sealed class DiscoveryPacingTests
{
    private const double ProvidesPerSecond = 2;

    [Fact]
    public async Task Provides_are_paced_by_the_configured_rate_and_repeated_every_22_hours()
    {
        using var cts = TestUtil.Timeout(240);
        var clock = SiloClock.StartNow();
        await using var peer = await TestGatewayPeer.StartAsync();
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            ClusterFixture.ConfigureSilo(silo, new InMemoryUpdateLog(), new SharedMemoryGrainStorage());
            silo.UseSiloMetadata(new Dictionary<string, string> { [SiloRoles.MetadataKey] = SiloRoles.Gateway });
            silo.Services.AddSingleton(peer.Peer);
            silo.Services.AddVivimP2pOwnership(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Vivim:P2p:ProvidesPerSecond"] = ProvidesPerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture),
            }).Build());
            silo.UseClock(clock);
        });
        builder.ConfigureClient(client => client.AddMemoryStreams(DidStreams.Provider).AddVivimOperatorCredentials(ClusterFixture.TestClusterSecret));
        await using var cluster = builder.Build();
        await cluster.DeployAsync();
        var announcer = cluster.Silos[0].ServiceProvider.GetRequiredService<DidAnnouncer>();
        var provided = new ConcurrentQueue<(string Key, DateTimeOffset At)>();
        announcer.Queue.Provided += (_, o) => provided.Enqueue((Convert.ToHexString(o.Key), o.StartedAt));

        // Three DIDs sharing one capability: two keys each plus the capability's, seven provides.
        var dids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            using var key = SigningKey.Generate();
            await cluster.Client.GetGrain<IExitNodeGrain>(key.Did.Value).CreateAsync(new ExitNodeSetup(new SecretSeed(key.ExportSeed()), "tenant-pacing", Capabilities: ["storage"]));
            dids.Add(key.Did.Value);
        }

        var keys = dids.SelectMany(d => new[] { DiscoveryKeys.ExitNode(d), DiscoveryKeys.SyncTopic(d) }).Append(DiscoveryKeys.Capability("storage"))
            .Select(Convert.ToHexString).ToHashSet(StringComparer.Ordinal);
        await TestUtil.UntilAsync(() => announcer.AnnouncedDids.Count == dids.Count, cts.Token);

        // The advertisements name this peer (read before the clock moves: the test client's tokens live on real time).
        foreach (var did in dids)
        {
            var advertisement = await cluster.Client.GetGrain<IExitNodeGrain>(did).GetAdvertisementAsync();
            Assert.Equal(peer.Peer.PeerId.ToString(), advertisement.PeerId);
            Assert.Equal(peer.Peer.AnnounceAddresses.Select(a => a.ToString()), advertisement.Multiaddrs);
            Assert.True(SignatureV2.Verify(SignedKind.ExitNodeAdvertisement, ProtocolModel.ToJsonObject(advertisement), DidKey.Parse(did).PublicKey));
        }

        var spacing = TimeSpan.FromSeconds(1 / ProvidesPerSecond);
        await TestUtil.AdvanceUntilAsync(clock, spacing / 5, () => provided.Count >= keys.Count, cts.Token);
        var first = provided.ToList();
        Assert.Equal(keys, first.Select(p => p.Key).ToHashSet(StringComparer.Ordinal));
        AssertPaced(first, spacing);
        Assert.All(keys, k => Assert.Contains(peer.Peer.Dht.ProvidedKeys, p => Convert.ToHexString(p) == k));

        // Nothing again before 22 h; every key again after, still paced.
        var start = first.Max(p => p.At);
        await TestUtil.AdvanceUntilAsync(clock, TimeSpan.FromMinutes(30), () => provided.Count >= 2 * keys.Count, cts.Token);
        var again = provided.Skip(keys.Count).ToList();
        Assert.Equal(keys, again.Select(p => p.Key).ToHashSet(StringComparer.Ordinal));
        Assert.All(again, p => Assert.True(p.At - first.Single(f => f.Key == p.Key).At >= TimeSpan.FromHours(22), $"{p.Key} provided again after {p.At - start}"));
        AssertPaced(again, spacing);
    }

    private static void AssertPaced(IReadOnlyList<(string Key, DateTimeOffset At)> provides, TimeSpan spacing)
    {
        for (var i = 1; i < provides.Count; i++)
        {
            Assert.True(provides[i].At - provides[i - 1].At >= spacing, $"provide {i} came {provides[i].At - provides[i - 1].At} after the previous one");
        }
    }
}
