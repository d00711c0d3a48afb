using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Vivim.Keys;
using Vivim.Management;
using Vivim.Security;
using Vivim.Storage.Schema;
using Vivim.Telemetry;

namespace Vivim.Hosting;

/// <summary>Composition of a Vivim silo, shared by the worker host (Vivim.Silo) and the gateway host.</summary>
public static class SiloHostingExtensions
{
    /// <summary>
    /// Configures the silo from the <c>Vivim</c> configuration section: the embedded node by default (localhost
    /// clustering, SQLite under <c>Vivim:DataPath</c>, in-memory reminders), or a member of a cluster whose membership,
    /// grain state, reminders and update log are in PostgreSQL (<c>Vivim:Storage:Provider</c> <c>PostgreSql</c>) or in
    /// an Azure Storage account (<c>Azure</c>). <paramref name="role"/> (<see cref="SiloRoles"/>) is published as silo metadata.
    /// </summary>
    public static IHostApplicationBuilder AddVivimSilo(this IHostApplicationBuilder builder, string role = SiloRoles.Worker)
    {
        var options = builder.Configuration.GetSection(VivimSiloOptions.Section).Get<VivimSiloOptions>() ?? new VivimSiloOptions();
        var storage = VivimStorageOptions.FromConfiguration(builder.Configuration);
        var location = StorageLocation.Resolve(storage, options.DataPath);

        // Before anything starts: a taken port is one clear line, not a silo that shares it (or a crash mid-start).
        var listenAddress = location.Provider == DatabaseKind.Sqlite ? IPAddress.Loopback : IPAddress.Any;
        ListenPorts.EnsureFree(listenAddress, options.SiloPort, "the silo port, between silos", "--" + VivimSiloOptions.Section + ":" + nameof(VivimSiloOptions.SiloPort));
        ListenPorts.EnsureFree(listenAddress, options.GatewayPort, "the Orleans gateway port, for cluster clients", "--" + VivimSiloOptions.Section + ":" + nameof(VivimSiloOptions.GatewayPort));

        // Metrics, traces and the management port (docs/operations.md, "Metrics, traces and the dashboard").
        var embedded = location.Provider == DatabaseKind.Sqlite;
        var management = ManagementSettings.Resolve(builder.Configuration, embedded);
        builder.AddVivimTelemetry("vivim-" + role, options.StableSiloName);

        builder.Services.AddOptions<VivimStorageOptions>().Configure(o => VivimStorageOptions.Apply(builder.Configuration, o));
        builder.Services.AddSingleton(location);
        builder.Services.AddSingleton<IPostConfigureOptions<KeyVaultOptions>, EmbeddedKeyEncryptionKey>();
        builder.Services.AddSingleton<IPostConfigureOptions<ClusterSecretOptions>, EmbeddedClusterSecret>();
        builder.Services.AddVivimUpdateLog(location);

        // Hosted services start in registration order: the database is reachable and migrated before the silo joins.
        builder.Services.AddHostedService<StorageStartup>();
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ServiceId = options.ServiceId;
                o.ClusterId = options.ClusterId;
            });
            silo.Configure<SiloOptions>(o => o.SiloName = options.StableSiloName);
            if (location.Provider == DatabaseKind.Sqlite)
            {
                silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort, serviceId: options.ServiceId, clusterId: options.ClusterId);
                silo.Configure<EndpointOptions>(o => o.AdvertisedIPAddress = IPAddress.Loopback);
                silo.UseInMemoryReminderService();
                silo.AddMemoryGrainStorage(DidStreamsPubSub);
                silo.AddVivimGrainStorage(DatabaseKind.Sqlite, location.ConnectionString);
            }
            else
            {
                if (location.Azure is { } account)
                {
                    silo.UseVivimAzureStorage(account, VivimProviders.GrainState, DidStreamsPubSub);
                }
                else
                {
                    var connectionString = location.ConnectionString;
                    silo.UseVivimPostgreSqlClustering(connectionString);
                    silo.UseVivimPostgreSqlReminders(connectionString);
                    silo.AddVivimGrainStorage(DatabaseKind.PostgreSql, connectionString, DidStreamsPubSub);
                    silo.AddVivimGrainStorage(DatabaseKind.PostgreSql, connectionString);
                }

                silo.Configure<EndpointOptions>(o =>
                {
                    o.SiloPort = options.SiloPort;
                    o.GatewayPort = options.GatewayPort;
                    if (options.AdvertisedAddress is { Length: > 0 } advertised)
                    {
                        o.AdvertisedIPAddress = IPAddress.Parse(advertised);
                    }

                    o.SiloListeningEndpoint = new IPEndPoint(IPAddress.Any, options.SiloPort);
                    o.GatewayListeningEndpoint = new IPEndPoint(IPAddress.Any, options.GatewayPort);
                });
            }

            silo.AddVivimGrains(builder.Configuration);
            silo.UseSiloMetadata(new Dictionary<string, string> { [SiloRoles.MetadataKey] = role });

            // One trace from the caller through the grain calls (W3C trace context in the RequestContext).
            silo.AddActivityPropagation();
            silo.AddVivimDashboard(management);

            // Failure detection is tunable per deployment (probe timeouts, votes): Vivim:Membership binds ClusterMembershipOptions.
            silo.Services.AddOptions<ClusterMembershipOptions>().Bind(builder.Configuration.GetSection("Vivim:Membership"));
        });
        builder.AddVivimManagement(management, role);
        return builder;
    }

    /// <summary>The storage the stream provider keeps its subscriptions in (Orleans' conventional name).</summary>
    private const string DidStreamsPubSub = "PubSubStore";
}
