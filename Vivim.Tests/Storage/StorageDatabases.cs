using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Vivim.Storage.Schema;
using Vivim.Tests.Support;

namespace Vivim.Tests.Storage;

/// <summary>A database of its own for one test class, with Vivim's schema applied by <see cref="SchemaMigrator"/>.</summary>
public abstract class MigratedDatabase : IAsyncDisposable
{
    public abstract DatabaseKind Kind { get; }

    public abstract string ConnectionString { get; }

    public abstract DbConnection CreateConnection();

    public async Task<DbConnection> OpenAsync()
    {
        var connection = CreateConnection();
        await connection.OpenAsync();
        return connection;
    }

    public async Task<MigrationReport> MigrateAsync()
    {
        await using var connection = CreateConnection();
        return await new SchemaMigrator(Kind, NullLogger.Instance).MigrateAsync(connection);
    }

    /// <summary>The one value of a query (null for SQL NULL or no row).</summary>
    public async Task<object?> ScalarAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        var result = await command.ExecuteScalarAsync();
        return result is DBNull ? null : result;
    }

    public abstract ValueTask DisposeAsync();

    public static async Task<MigratedDatabase> CreateAsync(DatabaseKind kind)
    {
        MigratedDatabase database = kind switch
        {
            DatabaseKind.Sqlite => SqliteTestFile.Create(),
            DatabaseKind.PostgreSql => new PostgresTestDatabase(await Postgres.CreateDatabaseAsync()),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        await database.MigrateAsync();
        return database;
    }
}

/// <summary>A SQLite file in a temporary directory of its own.</summary>
public sealed class SqliteTestFile : MigratedDatabase
{
    private readonly string _directory;

    private SqliteTestFile(string directory)
    {
        _directory = directory;
        Path = System.IO.Path.Combine(directory, "vivim.db");
        ConnectionString = new SqliteConnectionStringBuilder { DataSource = Path }.ToString();
    }

    public string Path { get; }

    public override DatabaseKind Kind => DatabaseKind.Sqlite;

    public override string ConnectionString { get; }

    /// <summary>A fresh file in WAL mode, as a host's start-up leaves it, not migrated yet.</summary>
    public static SqliteTestFile Create()
    {
        var directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "vivim-sqlite-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        var file = new SqliteTestFile(directory);
        using var connection = new SqliteConnection(file.ConnectionString);
        connection.Open();
        using var wal = connection.CreateCommand();
        wal.CommandText = "PRAGMA journal_mode=WAL";
        wal.ExecuteNonQuery();
        return file;
    }

    public override DbConnection CreateConnection() => new SqliteConnection(ConnectionString);

    public override ValueTask DisposeAsync()
    {
        // Pooled connections keep the file open.
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>A fresh database on the test PostgreSQL server.</summary>
public sealed class PostgresTestDatabase(TestDatabase database) : MigratedDatabase
{
    public override DatabaseKind Kind => DatabaseKind.PostgreSql;

    public override string ConnectionString => database.ConnectionString;

    public override DbConnection CreateConnection() => new NpgsqlConnection(ConnectionString);

    public override ValueTask DisposeAsync() => database.DisposeAsync();
}
