using System.Data;
using System.Data.Common;
using Microsoft.Extensions.Logging;

namespace Vivim.Storage.Schema;

/// <summary>What a migration run did.</summary>
public sealed record MigrationReport(IReadOnlyList<Migration> Applied, int CurrentVersion);

/// <summary>A change to an already applied migration: the database and this build disagree about the schema.</summary>
public sealed class SchemaDriftException(string message) : Exception(message);

/// <summary>
/// Applies the embedded migrations that a database lacks, in order, in one transaction, under a lock that makes
/// concurrent runs (several pods starting at once) wait for each other. Running it again changes nothing.
/// Applied migrations are recorded in <c>vivim_schema_migrations</c> with a checksum so that an edited migration is
/// refused instead of silently skipped.
/// </summary>
public sealed class SchemaMigrator(DatabaseKind database, ILogger logger)
{
    // An arbitrary constant: the key of the PostgreSQL advisory lock that serializes migration runs.
    private const long PostgreSqlLockKey = 0x76_69_76_69_6d_00_00_01;

    public async Task<MigrationReport> MigrateAsync(DbConnection connection, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (connection.State != ConnectionState.Open)
        {
            await connection.OpenAsync(cancellationToken);
        }

        var migrations = Migration.For(database);
        await using var transaction = await BeginAsync(connection, cancellationToken);
        await ExecuteAsync(connection, transaction, database == DatabaseKind.PostgreSql
            ? "CREATE TABLE IF NOT EXISTS vivim_schema_migrations (version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            : "CREATE TABLE IF NOT EXISTS vivim_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))", cancellationToken);

        var applied = new Dictionary<int, (string Name, string Checksum)>();
        await using (var read = Command(connection, transaction, "SELECT version, name, checksum FROM vivim_schema_migrations"))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                applied[reader.GetInt32(0)] = (reader.GetString(1), reader.GetString(2));
            }
        }

        foreach (var (version, record) in applied)
        {
            var known = migrations.FirstOrDefault(m => m.Version == version)
                ?? throw new SchemaDriftException($"The database has migration {version} ({record.Name}), which this build does not know: it was migrated by a newer version.");
            if (!string.Equals(known.Checksum, record.Checksum, StringComparison.Ordinal))
            {
                throw new SchemaDriftException($"Migration {version} ({record.Name}) differs from the one applied to the database (checksum {record.Checksum}, this build {known.Checksum}).");
            }
        }

        var pending = migrations.Where(m => !applied.ContainsKey(m.Version)).ToList();
        foreach (var migration in pending)
        {
            logger.LogInformation("Applying {Database} migration {Version} {Name}", database, migration.Version, migration.Name);
            await ExecuteAsync(connection, transaction, migration.Sql, cancellationToken);
            await using var record = Command(connection, transaction, "INSERT INTO vivim_schema_migrations (version, name, checksum) VALUES (@version, @name, @checksum)");
            AddParameter(record, "version", migration.Version);
            AddParameter(record, "name", migration.Name);
            AddParameter(record, "checksum", migration.Checksum);
            await record.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        var current = migrations.Count == 0 ? 0 : migrations[^1].Version;
        if (pending.Count == 0)
        {
            logger.LogInformation("{Database} schema is current (version {Version})", database, current);
        }

        return new MigrationReport(pending, current);
    }

    private async Task<DbTransaction> BeginAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        // Microsoft.Data.Sqlite begins IMMEDIATE transactions: two processes migrating one file run one after the other.
        var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (database == DatabaseKind.PostgreSql)
        {
            await ExecuteAsync(connection, transaction, $"SELECT pg_advisory_xact_lock({PostgreSqlLockKey})", cancellationToken);
        }

        return transaction;
    }

    private static DbCommand Command(DbConnection connection, DbTransaction transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, sql);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
