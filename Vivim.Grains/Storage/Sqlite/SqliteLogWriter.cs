using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace Vivim.Storage.Sqlite;

/// <summary>
/// The one connection that writes (SQLite allows one writer at a time) and its thread. Writes queue up while a
/// transaction commits; the next transaction takes every queued write (up to a bound), each (when not alone) inside a savepoint of
/// its own, and commits them together: one fsync for many appends (group commit), while a write that fails rolls
/// back to its savepoint alone. A write is completed only after its transaction committed.
/// </summary>
internal sealed class SqliteLogWriter : IDisposable
{
    // Bounds: queued writes (callers wait beyond it) and writes per transaction.
    private const int QueueCapacity = 4096;
    private const int MaxWritesPerTransaction = 256;
    private const int MaxUpdatesPerTransaction = 20_000;

    private readonly Channel<Write> _queue = Channel.CreateBounded<Write>(new BoundedChannelOptions(QueueCapacity) { SingleReader = true });
    private readonly SqliteConnection _connection;
    private readonly SqliteLogStatements _statements;
    private readonly SqliteCheckpointer _checkpointer;
    private readonly Thread _thread;

    /// <summary>
    /// Grain state shares the database file, so a commit can meet its write lock. SQLite's own busy handler then waits
    /// in steps of a few milliseconds; without it, Microsoft.Data.Sqlite retries after sleeping 150 ms, which set the
    /// p99 of commits (and of fan-out) while 1,000 live clones wrote their cursors.
    /// </summary>
    internal const string BusyTimeout = "PRAGMA busy_timeout = 30000";

    /// <summary>Content that a connection deletes or overwrites is overwritten with zeros in the file.</summary>
    internal const string SecureDelete = "PRAGMA secure_delete = ON";

    public SqliteLogWriter(string connectionString)
    {
        _connection = new SqliteConnection(connectionString);
        _connection.Open();
        // WAL: readers never block the writer nor each other. FULL: the WAL is synced at every commit, so an
        // acknowledged append survives the process being killed and the machine losing power.
        var journal = SqliteLogStatements.Scalar(_connection, "PRAGMA journal_mode = WAL");
        if (!string.Equals(journal as string, "wal", StringComparison.OrdinalIgnoreCase))
        {
            _connection.Dispose();
            throw new InvalidOperationException($"The SQLite update log needs a database file in WAL mode; journal_mode is '{journal}'.");
        }

        SqliteLogStatements.Execute(_connection, "PRAGMA synchronous = FULL");
        SqliteLogStatements.Execute(_connection, BusyTimeout);
        // Deleted and replaced documents are zeroed in their pages, not left in free space (it is per connection).
        SqliteLogStatements.Execute(_connection, SecureDelete);
        // 8 MiB. Every commit that split a b-tree page walks the whole page cache: balancing renumbers pages through
        // the lock-byte page's number (262145), so the end of the transaction drops cached pages past the file's end by
        // scanning every hash slot and page. At 64 MiB that walk (16,384 pages) took about a millisecond per commit;
        // the pages the writer needs (index leaves per DID, the tables' last pages) fit in far less, and a miss is
        // a read from the operating system's cache.
        SqliteLogStatements.Execute(_connection, "PRAGMA cache_size = -8192");
        // A write's savepoint journals the pages it changes; past 64 KiB SQLite spills that journal to a temporary
        // file (two write calls per page). In memory it is dropped when the savepoint is released: one write's pages.
        SqliteLogStatements.Execute(_connection, "PRAGMA temp_store = MEMORY");
        // 10,000 pages (40 MiB at 4 KiB): only when the checkpointer falls behind does the writer checkpoint itself.
        SqliteLogStatements.Execute(_connection, "PRAGMA wal_autocheckpoint = 10000");
        _statements = new SqliteLogStatements(_connection);
        _checkpointer = new SqliteCheckpointer(connectionString);
        _thread = new Thread(Run) { IsBackground = true, Name = "vivim-sqlite-log-writer" };
        _thread.Start();
    }

    /// <summary>Runs <paramref name="work"/> in a write transaction; completes once that transaction committed.</summary>
    public async Task RunAsync(Action<SqliteLogStatements> work, int updates, CancellationToken cancellationToken)
    {
        var write = new Write(work, updates, cancellationToken);
        await _queue.Writer.WriteAsync(write, cancellationToken).ConfigureAwait(false);
        await write.Done.Task.ConfigureAwait(false);
    }

    private void Run()
    {
        var reader = _queue.Reader;
        var group = new List<Write>(MaxWritesPerTransaction);
        var failures = new List<Exception?>(MaxWritesPerTransaction);
        while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            group.Clear();
            failures.Clear();
            var updates = 0;
            while (group.Count < MaxWritesPerTransaction && updates < MaxUpdatesPerTransaction && reader.TryRead(out var write))
            {
                if (write.CancellationToken.IsCancellationRequested)
                {
                    write.Done.TrySetCanceled(write.CancellationToken);
                    continue;
                }

                group.Add(write);
                updates += write.Updates;
            }

            if (group.Count > 0)
            {
                RunGroup(group, failures);
            }
        }
    }

    private void RunGroup(List<Write> group, List<Exception?> failures)
    {
        try
        {
            using var transaction = _connection.BeginTransaction(deferred: false);
            _statements.Enlist(transaction);
            var alone = group.Count == 1;
            for (var i = 0; i < group.Count; i++)
            {
                if (alone)
                {
                    // Alone in its transaction, a write needs no savepoint (its journal copies every page it changes):
                    // if it fails, the transaction rolls back below with nothing else in it.
                    group[i].Work(_statements);
                    failures.Add(null);
                    continue;
                }

                _statements.BeginWrite();
                try
                {
                    group[i].Work(_statements);
                    _statements.EndWrite();
                    failures.Add(null);
                }
                catch (Exception e)
                {
                    // Undoes this write alone. If SQLite already rolled the whole transaction back (I/O error, disk
                    // full), this throws and the whole group fails below.
                    _statements.UndoWrite();
                    failures.Add(e);
                }
            }

            transaction.Commit();
            _checkpointer.OnCommitted();
        }
        catch (Exception e)
        {
            // The transaction did not commit (or could not begin): nothing of the group was written.
            foreach (var write in group)
            {
                write.Done.TrySetException(e);
            }

            return;
        }
        finally
        {
            _statements.Enlist(null);
        }

        for (var i = 0; i < group.Count; i++)
        {
            if (failures[i] is { } failure)
            {
                group[i].Done.TrySetException(failure);
            }
            else
            {
                group[i].Done.TrySetResult();
            }
        }
    }

    public void Dispose()
    {
        // Queued writes still run: nothing a caller was promised is dropped.
        _queue.Writer.TryComplete();
        _thread.Join();
        _checkpointer.Dispose();
        _statements.Dispose();
        _connection.Dispose();
    }

    private sealed class Write(Action<SqliteLogStatements> work, int updates, CancellationToken cancellationToken)
    {
        public Action<SqliteLogStatements> Work { get; } = work;

        public int Updates { get; } = updates;

        public CancellationToken CancellationToken { get; } = cancellationToken;

        // Completed off the writer thread, so that callers' continuations never run on it.
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
