using System.Globalization;
using Orleans.Configuration;
using Vivim.Hosting;
using Vivim.Storage.Schema;

using Vivim.Tests.Support;

namespace Vivim.Tests.Durability;

/// <summary>
/// A production-shaped cluster of separate processes on one PostgreSQL database or one Azure Storage account (under a
/// table prefix of its own): Vivim.Silo workers and Vivim.Gateway nodes.
/// </summary>
public sealed class ClusterProcesses : IAsyncDisposable
{
    private readonly List<(HostProcess Process, int SiloPort)> _members = [];

    public ClusterProcesses(string connectionString, DatabaseKind storage = DatabaseKind.PostgreSql)
    {
        ConnectionString = connectionString;
        Storage = storage;
        ClusterId = "test-" + Guid.NewGuid().ToString("N")[..8];
        if (storage == DatabaseKind.Azure)
        {
            Azure = AzureStorageAccount.Parse(connectionString, Azurite.NewPrefix());
        }
    }

    public string ConnectionString { get; }

    public DatabaseKind Storage { get; }

    /// <summary>On Azure: the account and the prefix this cluster's tables and container have.</summary>
    public AzureStorageAccount? Azure { get; }

    public string ClusterId { get; }

    public IReadOnlyList<(HostProcess Process, int SiloPort)> Members => _members;

    public Dictionary<string, string> Environment() => new()
    {
        ["Vivim__Storage__Provider"] = Storage.ToString(),
        ["Vivim__Storage__ConnectionString"] = ConnectionString,
        ["Vivim__Storage__TablePrefix"] = Azure?.Prefix ?? AzureStorageAccount.DefaultPrefix,
        ["Vivim__ClusterId"] = ClusterId,
        ["Vivim__AdvertisedAddress"] = "127.0.0.1",
        ["Vivim__KeyEncryption__ActiveKeyId"] = "test",
        ["Vivim__KeyEncryption__Keys__test"] = ClusterFixture.TestKek,
        ["Vivim__Membership__ProbeTimeout"] = "00:00:01",
        ["Vivim__Membership__NumMissedProbesLimit"] = "2",
        ["Vivim__Membership__NumVotesForDeathDeclaration"] = "1",

        // A silo joining after the only other one was killed cannot get a vote on it; it skips an entry whose "I am
        // alive" is two periods old. At the default (30 s) that takes up to a minute, which ate a 90 s start on a loaded run.
        ["Vivim__Membership__IAmAliveTablePublishTimeout"] = "00:00:05",
    };

    /// <summary><c>Vivim.Silo migrate</c> as an operator runs it; returns its exit code and output.</summary>
    public async Task<(int ExitCode, string Output)> MigrateAsync()
    {
        await using var tool = HostProcess.Start("Vivim.Silo", ["migrate"], Environment(), "migrate");
        var code = await tool.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (code, tool.Output);
    }

    public HostProcess StartSilo(string name, Dictionary<string, string>? extra = null) => Start("Vivim.Silo", name, [], extra);

    /// <summary>A gateway configured with the public API's short storage form (<c>Vivim:Storage=Postgres</c> or <c>Azure</c>, <c>ConnectionStrings:Vivim</c>), silos with the long one.</summary>
    public HostProcess StartGateway(string name, Dictionary<string, string>? extra = null) => StartGateway(name, out _, extra);

    /// <summary>As <see cref="StartGateway(string, Dictionary{string, string}?)"/>, saying where its HTTP API listens.</summary>
    public HostProcess StartGateway(string name, out Uri baseAddress, Dictionary<string, string>? extra = null)
    {
        baseAddress = new Uri("http://127.0.0.1:" + FreePort.Next().ToString(CultureInfo.InvariantCulture));
        return Start("Vivim.Gateway", name, ["--urls", baseAddress.ToString()], extra, apiStorageForm: true);
    }

    public Task<ExternalClient> ConnectAsync() => ExternalClient.ConnectAsync(client =>
    {
        if (Azure is { } account)
        {
            client.UseVivimAzureStorageClustering(account);
        }
        else
        {
            client.UseVivimPostgreSqlClustering(ConnectionString);
        }

        client.Configure<ClusterOptions>(o =>
        {
            o.ServiceId = "vivim";
            o.ClusterId = ClusterId;
        });
    }, TimeSpan.FromSeconds(60), ResponseTimeout);

    /// <summary>
    /// How long a call may take: a grain call on Azure Storage makes several sequential requests to the one Azurite
    /// process every test shares, which under the whole suite's load took longer than the 10 s calls get elsewhere.
    /// </summary>
    private TimeSpan? ResponseTimeout => Azure is null ? null : TimeSpan.FromSeconds(30);

    public async ValueTask DisposeAsync()
    {
        foreach (var (process, _) in _members)
        {
            await process.DisposeAsync();
        }

        await Vivim.Tests.Storage.AzureAccountFixture.DeleteAllAsync(Azure);
    }

    private HostProcess Start(string project, string name, string[] arguments, Dictionary<string, string>? extra, bool apiStorageForm = false)
    {
        var siloPort = FreePort.Next();
        var environment = Environment();
        if (apiStorageForm)
        {
            environment.Remove("Vivim__Storage__Provider");
            environment.Remove("Vivim__Storage__ConnectionString");
            environment["Vivim__Storage"] = Storage == DatabaseKind.Azure ? "Azure" : "Postgres";
            environment["ConnectionStrings__Vivim"] = ConnectionString;
        }

        environment["Vivim__SiloPort"] = siloPort.ToString(CultureInfo.InvariantCulture);
        environment["Vivim__GatewayPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture);
        foreach (var (key, value) in extra ?? [])
        {
            environment[key] = value;
        }

        var process = HostProcess.Start(project, arguments, environment, name);
        _members.Add((process, siloPort));
        return process;
    }
}
