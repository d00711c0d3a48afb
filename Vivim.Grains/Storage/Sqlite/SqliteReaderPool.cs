using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

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

        public Reader(string connectionString)
        {
            _connection = new SqliteConnection(connectionString);
            _connection.Open();
            SqliteLogStatements.Execute(_connection, "PRAGMA query_only = 1");
            SqliteLogStatements.Execute(_connection, "PRAGMA cache_size = -16384");
            // A page's rows are materialized and sorted in a temporary table: kept in memory, not a new file per query.
            SqliteLogStatements.Execute(_connection, "PRAGMA temp_store = MEMORY");
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

            _connection.Dispose();
        }
    }
}
