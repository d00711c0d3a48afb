using System.Data.Common;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Vivim.Storage.Schema;

namespace Vivim.Hosting;

/// <summary>
/// <c>Vivim.Silo migrate</c>: applies the schema to the configured database and exits (0 when the schema is current).
/// Meant to run once per deploy with a role that may change the schema; silos then run without DDL rights. On Azure
/// Storage it creates the missing tables and blob container.
/// </summary>
public static class MigrateCommand
{
    public static async Task<int> RunAsync(IConfiguration configuration, ILoggerFactory loggers, CancellationToken cancellationToken = default)
    {
        var logger = loggers.CreateLogger("Vivim.Migrate");
        try
        {
            var options = configuration.GetSection(VivimSiloOptions.Section).Get<VivimSiloOptions>() ?? new VivimSiloOptions();
            var storage = VivimStorageOptions.FromConfiguration(configuration);
            var location = StorageLocation.Resolve(storage, options.DataPath);
            if (location.Azure is { } account)
            {
                // No schema on Azure: the tables and the container, created where missing (idempotent).
                var names = await account.EnsureCreatedAsync(cancellationToken);
                logger.LogInformation("{Location}: tables and containers present: {Names}", location.Describe(), string.Join(", ", names));
                return 0;
            }

            await using var connection = location.CreateConnection();
            await connection.OpenAsync(cancellationToken);
            var report = await new SchemaMigrator(location.Provider, logger).MigrateAsync(connection, cancellationToken);
            logger.LogInformation("{Location}: applied {Count} migration(s); schema version {Version}", location.Describe(), report.Applied.Count, report.CurrentVersion);
            return 0;
        }
        catch (Exception e) when (e is DbException or InvalidOperationException or SchemaDriftException or IOException)
        {
            logger.LogError("Migration failed: {Reason}", e.Message);
            return 1;
        }
        catch (Exception e) when (AzureStorageFaults.IsTransient(e) || e is Azure.RequestFailedException)
        {
            logger.LogError("Migration failed: {Reason}", AzureStorageFaults.Describe(e));
            return 1;
        }
    }
}
