using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Messaging;
using Orleans.Placement;
using Orleans.Runtime.MembershipService;
using Vivim.Hosting;
using Vivim.Storage.Schema;
using Vivim.Tests.Support;

namespace Vivim.Tests.Storage;

[Alias("vivim.tests.ISiloProbeGrain")]
public interface ISiloProbeGrain : IGrainWithIntegerKey
{
    [Alias("WhereAmI")]
    Task<string> WhereAmIAsync();
}

[RandomPlacement]
public sealed class SiloProbeGrain(ILocalSiloDetails silo) : Grain, ISiloProbeGrain
{
    public Task<string> WhereAmIAsync() => Task.FromResult(silo.SiloAddress.ToParsableString());
}

/// <summary>
/// Real silo and client hosts (TCP, no test-cluster shortcuts) that find each other only through our PostgreSQL
/// membership tables, with failure detection tuned to react in seconds.
/// </summary>
public sealed class PostgreSqlClusteringTests : IAsyncLifetime
{
    private const string ClusterId = "vivim-test-cluster";
    private const string ServiceId = "vivim-test";

    private readonly List<IHost> _hosts = [];
    private MigratedDatabase _database = null!;

    public async Task InitializeAsync() => _database = await MigratedDatabase.CreateAsync(DatabaseKind.PostgreSql);

    public async Task DisposeAsync()
    {
        foreach (var host in Enumerable.Reverse(_hosts))
        {
            await StopAsync(host);
        }

        await _database.DisposeAsync();
    }

    [Fact]
    public async Task Two_silos_form_one_cluster_the_client_reaches_both_and_the_survivor_carries_on()
    {
        var first = await StartSiloAsync();
        var second = await StartSiloAsync();
        var client = await StartClientAsync();
        var firstAddress = Address(first);
        var secondAddress = Address(second);

        Assert.Equal(new[] { (firstAddress, 3), (secondAddress, 3) }.Order(), (await MembersAsync()).Order());
        var gateways = await client.Services.GetRequiredService<IGatewayListProvider>().GetGatewaysAsync();
        Assert.Equal(2, gateways.Count);

        var grains = Enumerable.Range(0, 40).Select(i => client.Services.GetRequiredService<IClusterClient>().GetGrain<ISiloProbeGrain>(i)).ToList();
        var placements = await Task.WhenAll(grains.Select(g => g.WhereAmIAsync()));
        Assert.Equal(new[] { firstAddress, secondAddress }.Order(), placements.Distinct().Order());

        // Ungraceful: the silo skips its orderly shutdown, as on a crash, and the cluster must notice.
        await StopAsync(second, graceful: false);
        _hosts.Remove(second);

        await Until.HoldsAsync(async () => Assert.Contains((secondAddress, 6), await MembersAsync()));
        var membership = first.Services.GetRequiredService<IClusterMembershipService>();
        await Until.HoldsAsync(() =>
        {
            Assert.Equal(SiloStatus.Dead, membership.CurrentSnapshot.GetSiloStatus(SiloAddress.FromParsableString(secondAddress)));
            return Task.CompletedTask;
        });
        await Until.HoldsAsync(async () =>
        {
            var after = await Task.WhenAll(grains.Select(g => g.WhereAmIAsync()));
            Assert.All(after, a => Assert.Equal(firstAddress, a));
        }, TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task A_silo_that_stops_answering_is_declared_dead_by_the_others()
    {
        var survivor = await StartSiloAsync();
        var survivorAddress = Address(survivor);

        // A member that joined and then went silent: listed as active with a fresh heartbeat, but nothing listens on
        // its port. Only the live silo's probes can find that out, and only its vote can declare it dead.
        var table = new AdoNetClusteringTable(
            new ServiceCollection().BuildServiceProvider(),
            Options.Create(new ClusterOptions { ClusterId = ClusterId, ServiceId = ServiceId }),
            Options.Create(new AdoNetClusteringSiloOptions { Invariant = AdoNetInvariants.PostgreSql, ConnectionString = _database.ConnectionString }),
            NullLogger<AdoNetClusteringTable>.Instance);
        await table.InitializeMembershipTableAsync(tryInitTableVersion: false);
        var silent = SiloAddress.New(IPAddress.Loopback, FreePort.Next(), 1);
        var now = DateTime.UtcNow;
        var entry = new MembershipEntry
        {
            SiloAddress = silent,
            SiloName = "silent",
            HostName = "silent",
            Status = SiloStatus.Active,
            ProxyPort = 0,
            StartTime = now,
            IAmAliveTime = now,
        };
        Assert.True(await table.InsertRowAsync(entry, (await table.ReadAllAsync()).Version.Next()));

        await Until.HoldsAsync(async () =>
        {
            var (stored, _) = Assert.Single((await table.ReadRowAsync(silent)).Members);
            Assert.Equal(SiloStatus.Dead, stored.Status);
            Assert.Contains(stored.SuspectTimes ?? [], vote => vote.Item1.ToParsableString() == survivorAddress);
        });
    }

    private async Task<IHost> StartSiloAsync()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = Environments.Development });
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = ClusterId;
                o.ServiceId = ServiceId;
            });
            silo.ConfigureEndpoints(IPAddress.Loopback, FreePort.Next(), FreePort.Next());
            silo.UseVivimPostgreSqlClustering(_database.ConnectionString);
            silo.Configure<ClusterMembershipOptions>(o =>
            {
                o.TableRefreshTimeout = TimeSpan.FromSeconds(1);
                o.ProbeTimeout = TimeSpan.FromSeconds(1);
                o.NumMissedProbesLimit = 2;
                o.NumVotesForDeathDeclaration = 1;
            });
        });
        var host = builder.Build();
        _hosts.Add(host);
        await host.StartAsync();
        return host;
    }

    private async Task<IHost> StartClientAsync()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = Environments.Development });
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = ClusterId;
                o.ServiceId = ServiceId;
            });
            client.UseVivimPostgreSqlClustering(_database.ConnectionString);

            // A call that reached the dead silo just before it died fails after this, not after the default 30 s,
            // so that "eventually" below has room to retry.
            client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(5));
        });
        var host = builder.Build();
        _hosts.Add(host);
        await host.StartAsync();
        return host;
    }

    private static string Address(IHost silo) => silo.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToParsableString();

    /// <summary>Each member's address (as Orleans formats it) and status code, from our table.</summary>
    private async Task<List<(string Address, int Status)>> MembersAsync()
    {
        await using var connection = await _database.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT address, port, generation, status FROM vivim_cluster_members WHERE cluster_id = '" + ClusterId + "'";
        await using var reader = await command.ExecuteReaderAsync();
        var members = new List<(string, int)>();
        while (await reader.ReadAsync())
        {
            var address = SiloAddress.New(IPAddress.Parse(reader.GetString(0)), reader.GetInt32(1), reader.GetInt32(2));
            members.Add((address.ToParsableString(), reader.GetInt32(3)));
        }

        return members;
    }

    private static async Task StopAsync(IHost host, bool graceful = true)
    {
        try
        {
            await host.StopAsync(graceful ? CancellationToken.None : new CancellationToken(canceled: true));
        }
        finally
        {
            host.Dispose();
        }
    }
}
