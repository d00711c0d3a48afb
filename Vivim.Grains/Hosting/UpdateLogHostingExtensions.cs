using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Vivim.Storage;
using Vivim.Storage.PostgreSql;
using Vivim.Storage.Sqlite;
using Vivim.Storage.Schema;

namespace Vivim.Hosting;

public static class UpdateLogHostingExtensions
{
    /// <summary>The durable update log of the configured database: one per process, shared by every anchor it hosts.</summary>
    public static IServiceCollection AddVivimUpdateLog(this IServiceCollection services, StorageLocation location)
    {
        if (location.Provider == DatabaseKind.Sqlite)
        {
            services.AddSingleton<IUpdateLog>(_ => new SqliteUpdateLog(location.ConnectionString));
        }
        else
        {
            services.AddSingleton(_ => NpgsqlDataSource.Create(location.ConnectionString));
            services.AddSingleton<IUpdateLog>(sp => new PostgreSqlUpdateLog(sp.GetRequiredService<NpgsqlDataSource>()));
        }

        return services;
    }
}
