using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;
using Vivim.Storage.Schema;

namespace Vivim.Hosting;

/// <summary>Where this host's database is, resolved once from configuration (data directory or connection string).</summary>
public sealed class StorageLocation
{
    public const string SqliteFileName = "vivim.db";

    private StorageLocation(DatabaseKind provider, string? dataPath, string connectionString, IReadOnlyList<string>? tightened = null, AzureStorageAccount? azure = null)
    {
        Provider = provider;
        Azure = azure;
        DataPath = dataPath;
        ConnectionString = connectionString;
        Tightened = tightened ?? [];
    }

    public DatabaseKind Provider { get; }

    /// <summary>The embedded node's data directory (absolute), or null on PostgreSQL.</summary>
    public string? DataPath { get; }

    /// <summary>The connection string of <see cref="Provider"/> (Microsoft.Data.Sqlite or Npgsql syntax; on Azure the configured value).</summary>
    public string ConnectionString { get; }

    /// <summary>Paths of the data directory that other users could read or write, made owner-only when it was resolved.</summary>
    public IReadOnlyList<string> Tightened { get; }

    /// <summary>The storage account's clients and names when <see cref="Provider"/> is Azure, else null.</summary>
    public AzureStorageAccount? Azure { get; }

    /// <summary>A new, unopened connection to this database (SQLite or PostgreSQL; Azure Storage has no connection).</summary>
    public DbConnection CreateConnection() => Provider switch
    {
        DatabaseKind.Sqlite => new SqliteConnection(ConnectionString),
        DatabaseKind.PostgreSql => new NpgsqlConnection(ConnectionString),
        _ => throw new InvalidOperationException($"{Provider} storage has no database connection."),
    };

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

        if (storage.Provider == DatabaseKind.Azure)
        {
            // Builds the clients now (no request yet): a malformed value fails the start with one clear line.
            var account = AzureStorageAccount.Parse(storage.ConnectionString ?? string.Empty, storage.TablePrefix);
            return new StorageLocation(DatabaseKind.Azure, null, storage.ConnectionString!, azure: account);
        }

        if (storage.Provider != DatabaseKind.Sqlite)
        {
            throw new InvalidOperationException($"{VivimStorageOptions.Section}:Provider {storage.Provider} is not a storage this build knows.");
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

        if (Azure is { } account)
        {
            return account.Describe();
        }

        var builder = new NpgsqlConnectionStringBuilder(ConnectionString);
        return $"{builder.Host}:{builder.Port}/{builder.Database}";
    }
}
