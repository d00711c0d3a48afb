using Npgsql;
using Vivim.Storage.PostgreSql;
using Vivim.Tests.Support;

namespace Vivim.Tests.Storage;

/// <summary>A fresh, migrated PostgreSQL database for a test class, and the log over it.</summary>
public sealed class PostgresLogFixture : IAsyncLifetime
{
    private TestDatabase _database = null!;

    public NpgsqlDataSource DataSource { get; private set; } = null!;

    public PostgreSqlUpdateLog Log { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _database = await Postgres.CreateDatabaseAsync();
        await UpdateLogDatabases.MigratePostgresAsync(_database.ConnectionString);
        DataSource = NpgsqlDataSource.Create(_database.ConnectionString);
        Log = new PostgreSqlUpdateLog(DataSource);
    }

    public async Task DisposeAsync()
    {
        await DataSource.DisposeAsync();
        await _database.DisposeAsync();
    }
}
