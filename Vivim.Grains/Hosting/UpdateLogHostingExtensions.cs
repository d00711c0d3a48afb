using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Vivim.Storage;
using Vivim.Storage.Azure;
using Vivim.Storage.PostgreSql;
using Vivim.Storage.Sqlite;
using Vivim.Storage.Schema;
using Vivim.Telemetry;

namespace Vivim.Hosting;

public static class UpdateLogHostingExtensions
{
    /// <summary>
    /// The durable update log of the configured database (one per process, shared by every anchor it hosts), and the
    /// hosted-DID directory and the spent nonces in the same database, and what scrubs it after deletions. The log is
    /// wrapped in an <see cref="InstrumentedUpdateLog"/> tagged with its backend.
    /// </summary>
    public static IServiceCollection AddVivimUpdateLog(this IServiceCollection services, StorageLocation location)
    {
        if (location.Provider == DatabaseKind.Sqlite)
        {
            // One log (one writer) for the file: nonce spends join its group commits.
            services.AddSingleton(_ => new SqliteUpdateLog(location.ConnectionString));
            services.AddSingleton<IUpdateLog>(sp => sp.GetRequiredService<SqliteUpdateLog>());
            services.AddSingleton<IHostedDidDirectory>(_ => new SqliteHostedDidDirectory(location.ConnectionString));
            services.AddSingleton<ISpentNonces>(sp => new SqliteNonceLedger(location.ConnectionString, sp.GetRequiredService<SqliteUpdateLog>()));
            services.AddSingleton<IStorageErasure>(sp => new SqliteErasure(location.ConnectionString, sp.GetRequiredService<ILogger<SqliteErasure>>()));
        }
        else if (location.Azure is { } account)
        {
            services.AddSingleton(account);
            services.AddSingleton<IUpdateLog>(_ => new AzureTableUpdateLog(account.Tables, account.TableName(AzureTableUpdateLog.DefaultTableName)));
            services.AddSingleton<IHostedDidDirectory>(_ => new AzureTableHostedDidDirectory(account.Tables.GetTableClient(account.TableName(AzureStorageAccount.HostedDidsTable))));
            services.AddSingleton<ISpentNonces>(_ => new AzureTableNonceLedger(account.Tables.GetTableClient(account.TableName(AzureStorageAccount.SpentNoncesTable))));
            services.AddSingleton<IStorageErasure>(sp => new AzureStorageErasure(account.Blobs, sp.GetRequiredService<ILogger<AzureStorageErasure>>()));
        }
        else
        {
            services.AddSingleton(_ => PostgreSqlDataSource.Create(location.ConnectionString));
            services.AddSingleton<IUpdateLog>(sp => new PostgreSqlUpdateLog(sp.GetRequiredService<NpgsqlDataSource>()));
            services.AddSingleton<IHostedDidDirectory>(sp => new PostgreSqlHostedDidDirectory(sp.GetRequiredService<NpgsqlDataSource>()));
            services.AddSingleton<ISpentNonces>(sp => new PostgreSqlNonceLedger(sp.GetRequiredService<NpgsqlDataSource>()));
            services.AddSingleton<IStorageErasure, DatabaseServerErasure>();
        }

        // Whatever log was registered above is measured (append latency by backend, storage errors): keep this last.
        return services.AddUpdateLogInstrumentation();
    }
}
