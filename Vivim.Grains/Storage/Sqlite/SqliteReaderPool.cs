using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Vivim.Storage.Sqlite;

/// <summary>
/// A bounded set of read-only connections (WAL lets them read while the writer writes): a caller waits when all
/// are in use. Each keeps its statements prepared, by SQL text, for as long as it lives.
/// </summary>
internal sealed class SqliteReaderPool(string connectionString, int size) : IDisposable
{
    private readonly SemaphoreSlim _available = new(size, size);
    private readonly ConcurrentBag<Reader> _idle = [];
    private readonly ConcurrentBag<Reader> _all = [];

    public async ValueTask<Lease> RentAsync(CancellationToken cancellationToken)
    {
        await _available.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_idle.TryTake(out var reader))
            {
                reader = new Reader(connectionString);
                _all.Add(reader);
            }

            return new Lease(this, reader);
        }
        catch
        {
            _available.Release();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var reader in _all)
        {
            reader.Dispose();
        }

        _available.Dispose();
    }

    /// <summary>One rented connection; disposing it returns the connection.</summary>
    internal readonly struct Lease : IDisposable
    {
        private readonly SqliteReaderPool _pool;
        private readonly Reader _reader;

        public Lease(SqliteReaderPool pool, Reader reader)
        {
            _pool = pool;
            _reader = reader;
        }

        public SqliteCommand Command(string sql) => _reader.Command(sql);

        /// <inheritdoc cref="Reader.Statement"/>
        public sqlite3_stmt Statement(string sql) => _reader.Statement(sql);

        /// <summary>The connection's native handle, for the errors of its <see cref="Statement"/>s.</summary>
        public sqlite3 Handle => _reader.Handle;

        /// <summary>A buffer kept with the connection for one read at a time (the lease is exclusive), at least <paramref name="length"/> long.</summary>
        public byte[] Buffer(int length) => _reader.Buffer(length);

        public void Dispose()
        {
            _pool._idle.Add(_reader);
            _pool._available.Release();
        }
    }

    internal sealed class Reader : IDisposable
    {
        private readonly SqliteConnection _connection;
        private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
        private readonly Dictionary<string, sqlite3_stmt> _statements = new(StringComparer.Ordinal);
        private byte[] _buffer = [];

        public Reader(string connectionString)
        {
            _connection = new SqliteConnection(connectionString);
            _connection.Open();
            SqliteLogStatements.Execute(_connection, "PRAGMA query_only = 1");
            SqliteLogStatements.Execute(_connection, "PRAGMA cache_size = -16384");
            // A page's rows are materialized and sorted in a temporary table: kept in memory, not a new file per query.
            SqliteLogStatements.Execute(_connection, "PRAGMA temp_store = MEMORY");

            // Native statements (below) wait for another process's lock in SQLite itself, as long as commands do.
            raw.sqlite3_busy_timeout(_connection.Handle, _connection.DefaultTimeout * 1000);
        }

        public sqlite3 Handle => _connection.Handle!;

        /// <summary>
        /// A native statement for <paramref name="sql"/> (prepared on first use, then reused), reset with its bindings
        /// cleared: for reads that copy a column's bytes where they lie instead of taking a string or array of each.
        /// </summary>
        public sqlite3_stmt Statement(string sql)
        {
            if (!_statements.TryGetValue(sql, out var statement))
            {
                var rc = raw.sqlite3_prepare_v2(Handle, sql, out statement);
                SqliteException.ThrowExceptionForRC(rc, Handle);
                _statements[sql] = statement;
            }
            else
            {
                raw.sqlite3_reset(statement);
                raw.sqlite3_clear_bindings(statement);
            }

            return statement;
        }

        public byte[] Buffer(int length)
        {
            if (_buffer.Length < length)
            {
                _buffer = new byte[Math.Max(length, _buffer.Length * 2)];
            }

            return _buffer;
        }

        /// <summary>The connection's command for <paramref name="sql"/> (prepared on first use, then reused), with its parameters cleared.</summary>
        public SqliteCommand Command(string sql)
        {
            if (!_commands.TryGetValue(sql, out var command))
            {
                command = _connection.CreateCommand();
                command.CommandText = sql;
                _commands[sql] = command;
            }

            command.Parameters.Clear();
            return command;
        }

        public void Dispose()
        {
            foreach (var command in _commands.Values)
            {
                command.Dispose();
            }

            foreach (var statement in _statements.Values)
            {
                statement.Dispose();
            }

            _connection.Dispose();
        }
    }
}
