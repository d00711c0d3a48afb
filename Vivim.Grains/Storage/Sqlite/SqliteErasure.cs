using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Vivim.Storage.Sqlite;

/// <summary>
/// Scrubs the embedded node's database file after a deletion. A deleted row's bytes stay in its page's free space, or
/// in a page on the free list, until something overwrites them, and every earlier image of those pages stays in the
/// WAL until it is reset. <c>secure_delete</c> zeroes what our own connections delete, but grain state is deleted
/// through Orleans' connections, where it cannot be set; so: <c>VACUUM</c> rewrites the database from its live rows
/// only (no free space, no free list), and a <c>TRUNCATE</c> checkpoint copies that into the file and cuts the WAL
/// to zero bytes. Writers wait while it runs (about the time it takes to copy the file); requests that arrive meanwhile
/// share the next run.
/// </summary>
public sealed partial class SqliteErasure(string connectionString, ILogger<SqliteErasure> logger) : IStorageErasure
{
    private const int CheckpointAttempts = 100;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private long _requested;
    private long _completed;

    public async Task EraseDeletedAsync(CancellationToken cancellationToken = default)
    {
        // A run that starts after this request covers it; one that was already under way may not.
        var ticket = Interlocked.Increment(ref _requested);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Volatile.Read(ref _completed) >= ticket)
            {
                return;
            }

            var covers = Volatile.Read(ref _requested);
            await Task.Run(Scrub, cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _completed, covers);
        }
        finally
        {
            _gate.Release();
        }
    }

    private void Scrub()
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var builder = new SqliteConnectionStringBuilder(connectionString) { Pooling = false };
        using var connection = new SqliteConnection(builder.ConnectionString);
        connection.Open();
        Execute(connection, SqliteLogWriter.SecureDelete);
        Execute(connection, SqliteLogWriter.BusyTimeout);
        Execute(connection, "VACUUM");

        // TRUNCATE waits for readers of the old WAL through the busy timeout, but reports (rather than fails) when one
        // still held it: then it is tried again, as the pool's readers hold it for one statement at a time.
        for (var attempt = 1; ; attempt++)
        {
            using var checkpoint = connection.CreateCommand();
            checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
            using var reader = checkpoint.ExecuteReader();
            if (reader.Read() && reader.GetInt32(0) == 0)
            {
                break;
            }

            if (attempt == CheckpointAttempts)
            {
                throw new InvalidOperationException("The WAL could not be truncated after the deletion: a reader kept it busy. The next deletion truncates it, and so does the node when it stops.");
            }

            Thread.Sleep(50);
        }

        LogScrubbed(logger, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted data scrubbed from the database file and its WAL (VACUUM, WAL truncated) in {Milliseconds:F0} ms")]
    private static partial void LogScrubbed(ILogger logger, double milliseconds);
}
