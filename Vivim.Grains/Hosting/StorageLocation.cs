using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;
using Vivim.Storage.Schema;

namespace Vivim.Hosting;

/// <summary>Where this host's database is, resolved once from configuration (data directory or connection string).</summary>
public sealed class StorageLocation
{
    public const string SqliteFileName = "vivim.db";

    private StorageLocation(DatabaseKind provider, string? dataPath, string connectionString, IReadOnlyList<string>? tightened = null)
    {
        Provider = provider;
        DataPath = dataPath;
        ConnectionString = connectionString;
        Tightened = tightened ?? [];
    }

    public DatabaseKind Provider { get; }

    /// <summary>The embedded node's data directory (absolute), or null on PostgreSQL.</summary>
    public string? DataPath { get; }

    /// <summary>The connection string of <see cref="Provider"/> (Microsoft.Data.Sqlite or Npgsql syntax).</summary>
    public string ConnectionString { get; }

    /// <summary>Paths of the data directory that other users could read or write, made owner-only when it was resolved.</summary>
    public IReadOnlyList<string> Tightened { get; }

    /// <summary>A new, unopened connection to this database.</summary>
    public DbConnection CreateConnection() => Provider == DatabaseKind.Sqlite
        ? new SqliteConnection(ConnectionString)
        : new NpgsqlConnection(ConnectionString);

    public static StorageLocation Resolve(VivimStorageOptions storage, string dataPath)
    {
        if (storage.Provider == DatabaseKind.PostgreSql)
        {
            if (string.IsNullOrWhiteSpace(storage.ConnectionString))
            {
                throw new InvalidOperationException($"{VivimStorageOptions.Section}:ConnectionString is required when {VivimStorageOptions.Section}:Provider is PostgreSql (environment: Vivim__Storage__ConnectionString).");
            }

            // Validates the syntax now rather than at the first query.
            _ = new NpgsqlConnectionStringBuilder(storage.ConnectionString);
            return new StorageLocation(DatabaseKind.PostgreSql, null, storage.ConnectionString);
        }

        var directory = Path.GetFullPath(dataPath);
        var tightened = OwnerOnlyDataDirectory.Secure(directory, SqliteFileName);
        var sqlite = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(directory, SqliteFileName),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ConnectionString;
        return new StorageLocation(DatabaseKind.Sqlite, directory, sqlite, tightened);
    }

    /// <summary>For logs: never the password.</summary>
    public string Describe()
    {
        if (Provider == DatabaseKind.Sqlite)
        {
            return Path.Combine(DataPath!, SqliteFileName);
        }

        var builder = new NpgsqlConnectionStringBuilder(ConnectionString);
        return $"{builder.Host}:{builder.Port}/{builder.Database}";
    }
}
