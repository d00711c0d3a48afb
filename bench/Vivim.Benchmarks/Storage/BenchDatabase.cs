using Azure.Data.Tables;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Vivim.Storage;
using Vivim.Storage.Azure;
using Vivim.Storage.PostgreSql;
using Vivim.Storage.Sqlite;
using Vivim.Storage.Schema;

namespace Vivim.Benchmarks.Storage;

/// <summary>
/// A throwaway, migrated database for one benchmark run and the durable log over it. <c>--db sqlite</c> (default):
/// a file in a new temporary directory, or the file named by <c>--connection</c>. <c>--db postgres</c>: a new
/// database created on the server that <c>--connection</c> (or <c>VIVIM_TEST_POSTGRES</c>) reaches, dropped afterwards.
/// <c>--db azure</c>: a new table in the Azure Storage account that <c>--connection</c> (or <c>VIVIM_TEST_AZURE</c>,
/// e.g. the Azurite that <c>infra/dev/azurite.sh</c> starts) reaches, deleted afterwards.
/// <c>--db memory</c>: the in-memory log, as a reference for what durability costs.
/// </summary>
internal sealed class BenchDatabase : IAsyncDisposable
{
    private readonly string? _temporaryDirectory;
    private readonly string? _adminConnectionString;
    private readonly string? _databaseName;

    private BenchDatabase(DatabaseKind? kind, IUpdateLog log, string description, string? sqliteFile, NpgsqlDataSource? dataSource, string? temporaryDirectory, string? adminConnectionString, string? databaseName)
    {
        Kind = kind;
        Log = log;
        Description = description;
        SqliteFile = sqliteFile;
        DataSource = dataSource;
        _temporaryDirectory = temporaryDirectory;
        _adminConnectionString = adminConnectionString;
        _databaseName = databaseName;
    }

    /// <summary>The database, or null for the in-memory log.</summary>
    public DatabaseKind? Kind { get; }

    public IUpdateLog Log { get; }

    public string Description { get; }

    public string? SqliteFile { get; }

    public NpgsqlDataSource? DataSource { get; }

    /// <summary>The table of <c>--db azure</c>, deleted at the end.</summary>
    public TableClient? AzureTable { get; private init; }

    public static async Task<BenchDatabase> OpenAsync(string[] args)
    {
        var db = BenchArgs.Option(args, "--db") ?? "sqlite";
        var connection = BenchArgs.Option(args, "--connection");
        switch (db)
        {
            case "sqlite":
            {
                string? directory = null;
                var file = connection;
                if (file is null)
                {
                    directory = Path.Combine(Path.GetTempPath(), "vivim-bench-" + Guid.NewGuid().ToString("N")[..12]);
                    Directory.CreateDirectory(directory);
                    file = Path.Combine(directory, "vivim.db");
                }

                await using (var migration = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ConnectionString))
                {
                    await new SchemaMigrator(DatabaseKind.Sqlite, NullLogger.Instance).MigrateAsync(migration);
                }

                return new BenchDatabase(DatabaseKind.Sqlite, new SqliteUpdateLog(file), $"SQLite {file} (WAL, synchronous=FULL)", file, null, directory, null, null);
            }

            case "postgres":
            {
                var admin = connection ?? Environment.GetEnvironmentVariable("VIVIM_TEST_POSTGRES")
                    ?? throw new InvalidOperationException("--db postgres needs --connection (a server's maintenance connection string) or VIVIM_TEST_POSTGRES.");
                var name = "vivim_bench_" + Guid.NewGuid().ToString("N")[..12];
                await using (var server = new NpgsqlConnection(admin))
                {
                    await server.OpenAsync();
                    await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", server);
                    await create.ExecuteNonQueryAsync();
                }

                var connectionString = new NpgsqlConnectionStringBuilder(admin) { Database = name, MaxPoolSize = 200 }.ConnectionString;
                await using (var migration = new NpgsqlConnection(connectionString))
                {
                    await new SchemaMigrator(DatabaseKind.PostgreSql, NullLogger.Instance).MigrateAsync(migration);
                }

                var dataSource = PostgreSqlDataSource.Create(connectionString);
                var host = new NpgsqlConnectionStringBuilder(admin);
                return new BenchDatabase(DatabaseKind.PostgreSql, new PostgreSqlUpdateLog(dataSource), $"PostgreSQL {host.Host}:{host.Port}/{name}", null, dataSource, null, admin, name);
            }

            case "azure":
            {
                var account = connection ?? Environment.GetEnvironmentVariable("VIVIM_TEST_AZURE")
                    ?? throw new InvalidOperationException("--db azure needs --connection (an Azure Storage connection string) or VIVIM_TEST_AZURE.");
                var service = new TableServiceClient(account);
                var table = "bench" + Guid.NewGuid().ToString("N")[..12] + AzureTableUpdateLog.DefaultTableName;
                var log = new AzureTableUpdateLog(service, table);
                await log.EnsureCreatedAsync();
                return new BenchDatabase(null, log, $"Azure Table storage {service.Uri.Host}:{service.Uri.Port}, table {table}", null, null, null, null, null) { AzureTable = service.GetTableClient(table) };
            }

            case "memory":
                return new BenchDatabase(null, new InMemoryUpdateLog(), "the in-memory log (not durable)", null, null, null, null, null);

            default:
                throw new ArgumentException($"--db is sqlite, postgres, azure or memory, not '{db}'.");
        }
    }

    /// <summary>
    /// PostgreSQL: gathers the log tables' statistics, as autovacuum does in a running service within its first minute.
    /// The bench's database is new and fills within that minute, so without it a prepared statement can keep the plan
    /// it cached while a table was empty: a sequential scan of the whole table for each lookup by id (155–180 ms a
    /// lookup at 100,000 updates). Gathering statistics invalidates such plans.
    /// </summary>
    /// <param name="vacuum">Also clear dead rows and set the visibility map first, as autovacuum would have by then.</param>
    public async Task AnalyzeAsync(bool vacuum = false)
    {
        if (DataSource is null)
        {
            return;
        }

        await using var command = DataSource.CreateCommand((vacuum ? "VACUUM (ANALYZE) " : "ANALYZE ") + "vivim_log_heads, vivim_log_updates, vivim_log_commits, vivim_documents");
        await command.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        (Log as IDisposable)?.Dispose();
        if (DataSource is not null)
        {
            await DataSource.DisposeAsync();
            NpgsqlConnection.ClearAllPools();
            await using var server = new NpgsqlConnection(_adminConnectionString);
            await server.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_databaseName} WITH (FORCE)", server);
            await drop.ExecuteNonQueryAsync();
        }

        if (AzureTable is not null)
        {
            await AzureTable.DeleteAsync();
        }

        if (_temporaryDirectory is not null)
        {
            Directory.Delete(_temporaryDirectory, recursive: true);
        }
    }
}
