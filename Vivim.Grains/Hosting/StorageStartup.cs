using System.Data.Common;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Vivim.Storage.Schema;

namespace Vivim.Hosting;

/// <summary>
/// Runs before the silo starts: waits for the database (with backoff, saying clearly what it cannot reach), applies
/// migrations when configured to, and refuses to start on a schema this build does not match. Registered ahead of
/// Orleans so that membership never starts against a missing or outdated schema. On Azure Storage there is no schema:
/// it waits for the account and creates the tables and the container that are missing (what Orleans' own providers
/// would do for theirs at start anyway; <c>Vivim.Silo migrate</c> does the same ahead of a deploy).
/// </summary>
public sealed class StorageStartup(
    IOptions<VivimStorageOptions> storage,
    StorageLocation location,
    ILogger<StorageStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var options = storage.Value;
        if (location.Tightened.Count > 0)
        {
            logger.LogWarning("The data directory {DataPath} was readable by other users: made {Count} paths owner-only (directory 0700, files 0600): {Paths}",
                location.DataPath, location.Tightened.Count, string.Join(", ", location.Tightened.Select(Path.GetFileName)));
        }

        var delay = TimeSpan.FromSeconds(1);
        for (var attempt = 1; ; attempt++)
        {
            if (location.Azure is { } account)
            {
                try
                {
                    await account.EnsureCreatedAsync(cancellationToken);
                    logger.LogInformation("Storage ready: {Provider} at {Location}", options.Provider, location.Describe());
                    return;
                }
                catch (Exception e) when (AzureStorageFaults.IsTransient(e) && !cancellationToken.IsCancellationRequested)
                {
                    logger.LogError("Cannot reach the Azure storage account at {Location} (attempt {Attempt}): {Reason}. Retrying in {Delay} s.",
                        location.Describe(), attempt, AzureStorageFaults.Describe(e), delay.TotalSeconds);
                    await Task.Delay(delay, cancellationToken);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, options.MaxStartupRetryDelay.Ticks));
                    continue;
                }
            }

            try
            {
                await using var connection = await OpenAsync(cancellationToken);
                if (options.Provider == DatabaseKind.Sqlite)
                {
                    // Before any other connection: WAL lets readers and the writer work at once, and sticks to the file.
                    await using var wal = connection.CreateCommand();
                    wal.CommandText = "PRAGMA journal_mode=WAL";
                    await wal.ExecuteNonQueryAsync(cancellationToken);
                }

                if (options.Provider == DatabaseKind.Sqlite || options.MigrateOnStart)
                {
                    await new SchemaMigrator(options.Provider, logger).MigrateAsync(connection, cancellationToken);
                }
                else
                {
                    await RequireCurrentSchemaAsync(connection, cancellationToken);
                }

                logger.LogInformation("Storage ready: {Provider} at {Location}", options.Provider, location.Describe());
                return;
            }
            catch (Exception e) when (IsTransient(e) && !cancellationToken.IsCancellationRequested)
            {
                logger.LogError("Cannot reach the {Provider} database at {Location} (attempt {Attempt}): {Reason}. Retrying in {Delay} s.",
                    options.Provider, location.Describe(), attempt, e.Message, delay.TotalSeconds);
                await Task.Delay(delay, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, options.MaxStartupRetryDelay.Ticks));
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = location.CreateConnection();
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static async Task RequireCurrentSchemaAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        var expected = Migration.For(DatabaseKind.PostgreSql).Select(m => m.Version).DefaultIfEmpty(0).Max();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT coalesce(max(version), 0) FROM vivim_schema_migrations";
        int actual;
        try
        {
            actual = Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            actual = 0;
        }

        if (actual != expected)
        {
            throw new SchemaNotCurrentException(actual < expected
                ? $"The database schema is at version {actual}; this build needs {expected}. Run 'Vivim.Silo migrate' (or set Vivim:Storage:MigrateOnStart=true)."
                : $"The database schema is at version {actual}, newer than this build ({expected}): deploy the newer build.");
        }
    }

    // An outdated schema is retried too: during a rolling deploy the migration job may still be running.
    private static bool IsTransient(Exception e) => e is DbException or SchemaNotCurrentException or TimeoutException or IOException
        || e is System.Net.Sockets.SocketException;
}

/// <summary>The database schema and this build disagree.</summary>
public sealed class SchemaNotCurrentException(string message) : Exception(message);
