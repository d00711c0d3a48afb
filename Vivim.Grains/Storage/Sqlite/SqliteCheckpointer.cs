using Microsoft.Data.Sqlite;

namespace Vivim.Storage.Sqlite;

/// <summary>
/// Copies the WAL back into the database file on a connection and thread of its own. SQLite's automatic checkpoint
/// would run inside the writer's commit, and the appends queued behind it would wait for it (megabytes copied and
/// synced); a passive checkpoint here runs beside the writer instead. The writer keeps a high automatic threshold
/// only as a safety net for when this falls behind.
/// </summary>
internal sealed class SqliteCheckpointer : IDisposable
{
    /// <summary>How long commits accumulate before a checkpoint: one checkpoint per burst, not per commit.</summary>
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(100);

    private readonly SqliteConnection _connection;
    private readonly SemaphoreSlim _committed = new(0, 1);
    private readonly Thread _thread;
    private volatile bool _stopping;

    public SqliteCheckpointer(string connectionString)
    {
        _connection = new SqliteConnection(connectionString);
        _connection.Open();
        SqliteLogStatements.Execute(_connection, "PRAGMA synchronous = FULL");
        SqliteLogStatements.Execute(_connection, SqliteLogWriter.BusyTimeout);
        _thread = new Thread(Run) { IsBackground = true, Name = "vivim-sqlite-log-checkpoint" };
        _thread.Start();
    }

    /// <summary>Something was committed: a checkpoint is due soon.</summary>
    public void OnCommitted()
    {
        if (_committed.CurrentCount == 0)
        {
            try
            {
                _committed.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already signalled by a racing call.
            }
        }
    }

    private void Run()
    {
        while (true)
        {
            _committed.Wait();
            if (_stopping)
            {
                return;
            }

            Thread.Sleep(Pause);
            try
            {
                SqliteLogStatements.Execute(_connection, "PRAGMA wal_checkpoint(PASSIVE)");
            }
            catch (SqliteException)
            {
                // A passive checkpoint that cannot proceed now is retried after the next commit.
            }
        }
    }

    public void Dispose()
    {
        _stopping = true;
        OnCommitted();
        _thread.Join();
        _connection.Dispose();
        _committed.Dispose();
    }
}
