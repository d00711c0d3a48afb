using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Vivim.Storage.Schema;

namespace Vivim.Tests.Support;

/// <summary>Schemas for the durable update logs under test, applied the way a host applies them (the migrator).</summary>
public static class UpdateLogDatabases
{
    /// <summary>A new SQLite file in a fresh temporary directory, migrated; returns its path.</summary>
    public static async Task<string> CreateSqliteAsync()
    {
        var directory = Path.Combine(Path.GetTempPath(), "vivim-sqlite-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, "vivim.db");
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ConnectionString);
        await new SchemaMigrator(DatabaseKind.Sqlite, NullLogger.Instance).MigrateAsync(connection);
        return file;
    }

    public static void DeleteSqlite(string file)
    {
        try
        {
            Directory.Delete(Path.GetDirectoryName(file)!, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public static async Task MigratePostgresAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await new SchemaMigrator(DatabaseKind.PostgreSql, NullLogger.Instance).MigrateAsync(connection);
    }
}
