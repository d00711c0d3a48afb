using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime.Membership;
using Orleans.Runtime.MembershipService;
using Vivim.Hosting;
using Vivim.Storage.Schema;

namespace Vivim.Tests.Storage;

/// <summary>
/// The membership table contract, statement by statement, through Orleans' own ADO.NET clustering provider on our
/// PostgreSQL schema: the version ETag, conflicting inserts and updates, suspicions, heartbeats, gateways, cleanup.
/// </summary>
public sealed class PostgreSqlMembershipTableTests : IAsyncLifetime
{
    // Whole milliseconds: what the suspect-time format keeps.
    private static readonly DateTime Start = new(2026, 11, 24, 10, 0, 0, 123, DateTimeKind.Utc);

    private MigratedDatabase _database = null!;

    public async Task InitializeAsync() => _database = await MigratedDatabase.CreateAsync(DatabaseKind.PostgreSql);

    public async Task DisposeAsync() => await _database.DisposeAsync();

    [Fact]
    public async Task A_new_cluster_has_a_version_row_and_no_members()
    {
        var table = await TableAsync("empty");
        await (await TableAsync("empty")).InitializeMembershipTableAsync(tryInitTableVersion: true);

        var all = await table.ReadAllAsync();

        Assert.Empty(all.Members);
        Assert.Equal(0, all.Version.Version);
        Assert.Equal("0", all.Version.VersionEtag);
        Assert.Equal(1L, Convert.ToInt64(await _database.ScalarAsync("SELECT count(*) FROM vivim_cluster_versions WHERE cluster_id = 'empty'")));
    }

    [Fact]
    public async Task Inserts_need_the_current_version_and_a_new_silo()
    {
        var table = await TableAsync("inserts");
        var first = Entry(1, SiloStatus.Joining);
        var version = (await table.ReadAllAsync()).Version;

        Assert.True(await table.InsertRowAsync(first, version.Next()));
        Assert.False(await table.InsertRowAsync(Entry(2, SiloStatus.Joining), version.Next()));

        var current = (await table.ReadAllAsync()).Version;
        Assert.Equal(version.Version + 1, current.Version);
        Assert.False(await table.InsertRowAsync(first, current.Next()));
        Assert.Equal(current.Version, (await table.ReadAllAsync()).Version.Version);

        var row = await table.ReadRowAsync(first.SiloAddress);
        var (stored, etag) = Assert.Single(row.Members);
        Assert.Equal(current.VersionEtag, etag);
        Assert.Equal(first.SiloAddress, stored.SiloAddress);
        Assert.Equal(first.SiloName, stored.SiloName);
        Assert.Equal(first.HostName, stored.HostName);
        Assert.Equal(SiloStatus.Joining, stored.Status);
        Assert.Equal(first.ProxyPort, stored.ProxyPort);
        Assert.Equal(first.StartTime, stored.StartTime);
        Assert.Equal(first.IAmAliveTime, stored.IAmAliveTime);
        Assert.Null(stored.SuspectTimes);
    }

    [Fact]
    public async Task Updates_carry_status_and_suspicions_and_refuse_a_stale_version()
    {
        var table = await TableAsync("updates");
        var voter = Entry(1, SiloStatus.Active);
        var suspect = Entry(2, SiloStatus.Active);
        Assert.True(await table.InsertRowAsync(voter, (await table.ReadAllAsync()).Version.Next()));
        Assert.True(await table.InsertRowAsync(suspect, (await table.ReadAllAsync()).Version.Next()));
        var before = await table.ReadAllAsync();

        suspect.Status = SiloStatus.Dead;
        suspect.SuspectTimes = [Tuple.Create(voter.SiloAddress, Start.AddSeconds(5)), Tuple.Create(voter.SiloAddress, Start.AddSeconds(6))];
        suspect.IAmAliveTime = Start.AddSeconds(7);
        Assert.True(await table.UpdateRowAsync(suspect, before.Version.VersionEtag, before.Version.Next()));
        suspect.Status = SiloStatus.Active;
        Assert.False(await table.UpdateRowAsync(suspect, before.Version.VersionEtag, before.Version.Next()));

        var (stored, _) = Assert.Single((await table.ReadRowAsync(suspect.SiloAddress)).Members);
        Assert.Equal(SiloStatus.Dead, stored.Status);
        Assert.Equal(Start.AddSeconds(7), stored.IAmAliveTime);
        Assert.Equal(suspect.SuspectTimes, stored.SuspectTimes);
        Assert.Equal(before.Version.Version + 1, (await table.ReadAllAsync()).Version.Version);
    }

    [Fact]
    public async Task Heartbeats_update_the_row_without_a_membership_change()
    {
        var table = await TableAsync("heartbeats");
        var silo = Entry(1, SiloStatus.Active);
        Assert.True(await table.InsertRowAsync(silo, (await table.ReadAllAsync()).Version.Next()));
        var version = (await table.ReadAllAsync()).Version;

        silo.IAmAliveTime = Start.AddMinutes(1);
        await table.UpdateIAmAliveAsync(silo);

        var all = await table.ReadAllAsync();
        Assert.Equal(version, all.Version);
        Assert.Equal(Start.AddMinutes(1), Assert.Single(all.Members).Item1.IAmAliveTime);
    }

    [Fact]
    public async Task Clients_find_the_active_silos_with_a_gateway()
    {
        var table = await TableAsync("gateways");
        var gateway = Entry(1, SiloStatus.Active);
        var worker = Entry(2, SiloStatus.Active);
        worker.ProxyPort = 0;
        var joining = Entry(3, SiloStatus.Joining);
        var dead = Entry(4, SiloStatus.Dead);
        foreach (var entry in new[] { gateway, worker, joining, dead })
        {
            Assert.True(await table.InsertRowAsync(entry, (await table.ReadAllAsync()).Version.Next()));
        }

        var provider = new AdoNetGatewayListProvider(
            NullLogger<AdoNetGatewayListProvider>.Instance,
            new ServiceCollection().BuildServiceProvider(),
            Options.Create(new AdoNetClusteringClientOptions { Invariant = AdoNetInvariants.PostgreSql, ConnectionString = _database.ConnectionString }),
            Options.Create(new GatewayOptions()),
            Options.Create(new ClusterOptions { ClusterId = "gateways", ServiceId = "vivim-test" }));
        await provider.InitializeGatewayListProviderAsync();

        var gateways = await provider.GetGatewaysAsync();

        Assert.Equal(new[] { SiloAddress.New(IPAddress.Loopback, gateway.ProxyPort, gateway.SiloAddress.Generation).ToGatewayUri() }, gateways);
    }

    [Fact]
    public async Task Cleanup_removes_only_dead_silos_quiet_since_the_cutoff()
    {
        var table = await TableAsync("cleanup");
        var cutoff = Start.AddHours(1);
        var defunct = Entry(1, SiloStatus.Dead);
        var recentlyDead = Entry(2, SiloStatus.Dead);
        recentlyDead.IAmAliveTime = cutoff.AddMinutes(1);
        var quietButActive = Entry(3, SiloStatus.Active);
        foreach (var entry in new[] { defunct, recentlyDead, quietButActive })
        {
            Assert.True(await table.InsertRowAsync(entry, (await table.ReadAllAsync()).Version.Next()));
        }

        await table.CleanupDefunctSiloEntriesAsync(new DateTimeOffset(cutoff));

        var remaining = (await table.ReadAllAsync()).Members.Select(m => m.Item1.SiloAddress).ToHashSet();
        Assert.Equal(new[] { recentlyDead.SiloAddress, quietButActive.SiloAddress }, remaining.OrderBy(s => s.Endpoint.Port));
    }

    [Fact]
    public async Task Deleting_a_cluster_leaves_other_clusters_alone()
    {
        var doomed = await TableAsync("doomed");
        var survivor = await TableAsync("survivor");
        Assert.True(await doomed.InsertRowAsync(Entry(1, SiloStatus.Active), (await doomed.ReadAllAsync()).Version.Next()));
        Assert.True(await survivor.InsertRowAsync(Entry(1, SiloStatus.Active), (await survivor.ReadAllAsync()).Version.Next()));

        await doomed.DeleteMembershipTableEntriesAsync("doomed");

        Assert.Equal(0L, Convert.ToInt64(await _database.ScalarAsync("SELECT count(*) FROM vivim_cluster_versions WHERE cluster_id = 'doomed'")));
        Assert.Equal(0L, Convert.ToInt64(await _database.ScalarAsync("SELECT count(*) FROM vivim_cluster_members WHERE cluster_id = 'doomed'")));
        Assert.Single((await survivor.ReadAllAsync()).Members);
    }

    private async Task<AdoNetClusteringTable> TableAsync(string clusterId)
    {
        var table = new AdoNetClusteringTable(
            new ServiceCollection().BuildServiceProvider(),
            Options.Create(new ClusterOptions { ClusterId = clusterId, ServiceId = "vivim-test" }),
            Options.Create(new AdoNetClusteringSiloOptions { Invariant = AdoNetInvariants.PostgreSql, ConnectionString = _database.ConnectionString }),
            NullLogger<AdoNetClusteringTable>.Instance);
        await table.InitializeMembershipTableAsync(tryInitTableVersion: true);
        return table;
    }

    private static MembershipEntry Entry(int index, SiloStatus status) => new()
    {
        SiloAddress = SiloAddress.New(IPAddress.Loopback, 11000 + index, 1000 + index),
        SiloName = "silo-" + index,
        HostName = "host-" + index,
        Status = status,
        ProxyPort = 30000 + index,
        StartTime = Start,
        IAmAliveTime = Start.AddSeconds(index),
    };
}
