using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using SQLitePCL;
using Vivim.Protocol.Sync;

namespace Vivim.Storage.Sqlite;

/// <summary>
/// The update log in a SQLite file (the tables of migration <c>0002_update_log</c>, which must have been applied):
/// the embedded node's durable log. One writer connection on a thread of its own commits queued writes together
/// (WAL, <c>synchronous = FULL</c>: acknowledged appends survive a killed process and a power loss); a bounded pool
/// of read-only connections serves reads, which are range scans of the keyed tables.
/// </summary>
public sealed class SqliteUpdateLog : IUpdateLog, IDisposable
{
    private const string BoundsSql = "SELECT first_retained_seq, last_seq FROM vivim_log_heads WHERE did = $did";

    // One statement, so one snapshot: the page and the commits overlapping exactly its seqs. Commits do not
    // overlap each other, so the first of them is the last one starting at or before the page.
    private const string ReadSql = """
        WITH head AS (SELECT id FROM vivim_log_heads WHERE did = $did),
        page AS MATERIALIZED (
            SELECT seq, update_id, update_hash, root, json FROM vivim_log_updates
            WHERE did_id = (SELECT id FROM head) AND seq > $after
            ORDER BY seq
            LIMIT $limit),
        span AS (SELECT min(seq) AS first, max(seq) AS last FROM page)
        SELECT 0 AS kind, seq, NULL, update_id, update_hash, root, json FROM page
        UNION ALL
        SELECT 1, c.from_seq, c.to_seq, NULL, NULL, NULL, c.json
        FROM span, vivim_log_commits c
        WHERE c.did_id = (SELECT id FROM head)
          AND c.from_seq >= (SELECT max(from_seq) FROM vivim_log_commits WHERE did_id = (SELECT id FROM head) AND from_seq <= span.first)
          AND c.from_seq <= span.last
        ORDER BY 1, 2
        """;

    // The same page and commits with only what a reader of the log needs: seqs and texts.
    private const string ReadPackedSql = """
        WITH head AS (SELECT id FROM vivim_log_heads WHERE did = $did),
        page AS MATERIALIZED (
            SELECT seq, json FROM vivim_log_updates
            WHERE did_id = (SELECT id FROM head) AND seq > $after
            ORDER BY seq
            LIMIT $limit),
        span AS (SELECT min(seq) AS first, max(seq) AS last FROM page)
        SELECT 0 AS kind, seq, NULL, json FROM page
        UNION ALL
        SELECT 1, c.from_seq, c.to_seq, c.json
        FROM span, vivim_log_commits c
        WHERE c.did_id = (SELECT id FROM head)
          AND c.from_seq >= (SELECT max(from_seq) FROM vivim_log_commits WHERE did_id = (SELECT id FROM head) AND from_seq <= span.first)
          AND c.from_seq <= span.last
        ORDER BY 1, 2
        """;

    // CROSS JOIN fixes the loop order: one index lookup per id asked for, never a scan of the DID's log. The index
    // holds the ids' last six characters (migration 0007), so the whole id is compared on the rows it finds.
    internal const string FindSql = """
        SELECT u.seq, u.update_id, u.update_hash, u.root, u.json
        FROM json_each($ids) AS ids
        CROSS JOIN vivim_log_updates u
        WHERE u.did_id = (SELECT id FROM vivim_log_heads WHERE did = $did)
          AND substr(u.update_id, -6) = substr(ids.value, -6)
          AND u.update_id = ids.value
        """;

    private const string DocumentSql = """
        SELECT json, value, seq FROM vivim_documents
        WHERE did_id = (SELECT id FROM vivim_log_heads WHERE did = $did) AND path = $path
        """;

    private const string DocumentsSql = """
        SELECT path, json, value, seq FROM vivim_documents
        WHERE did_id = (SELECT id FROM vivim_log_heads WHERE did = $did)
        """;

    private const string LeavesSql = """
        SELECT path, value, length(CAST(json AS BLOB)) FROM vivim_documents
        WHERE did_id = (SELECT id FROM vivim_log_heads WHERE did = $did)
        """;

    private readonly SqliteLogWriter _writer;
    private readonly SqliteReaderPool _readers;
    private int _disposed;

    /// <param name="database">A database file path, or a Microsoft.Data.Sqlite connection string.</param>
    /// <param name="readers">Read-only connections at most (default: one per core, at least 2).</param>
    public SqliteUpdateLog(string database, int readers = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(database);
        var builder = database.Contains('=', StringComparison.Ordinal)
            ? new SqliteConnectionStringBuilder(database)
            : new SqliteConnectionStringBuilder { DataSource = database };
        // The log keeps its own connections open; Microsoft.Data.Sqlite's pool would only hold more of them.
        builder.Pooling = false;
        builder.Mode = SqliteOpenMode.ReadWriteCreate;
        if (builder.DefaultTimeout < 30)
        {
            builder.DefaultTimeout = 30; // how long a statement waits for another process's lock
        }

        _writer = new SqliteLogWriter(builder.ConnectionString);
        _readers = new SqliteReaderPool(builder.ConnectionString, readers > 0 ? readers : Math.Max(2, Environment.ProcessorCount));
    }

    public Task AppendAsync(string did, LogAppend append, CancellationToken cancellationToken = default)
    {
        LogAppendRules.Validate(did, append);
        return _writer.RunAsync(s => s.Append(did, append), append.Updates.Count, cancellationToken);
    }

    public Task TruncateAsync(string did, long throughSeq, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(did);
        return _writer.RunAsync(s => s.Truncate(did, throughSeq), 1, cancellationToken);
    }

    public Task DeleteAsync(string did, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(did);
        return _writer.RunAsync(s => s.Delete(did), 1, cancellationToken);
    }

    public async Task<LogPage> ReadAsync(string did, long afterSeq, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(did);
        if (limit <= 0)
        {
            return new LogPage([], []);
        }

        using var lease = await _readers.RentAsync(cancellationToken).ConfigureAwait(false);
        var command = lease.Command(ReadSql);
        command.Parameters.AddWithValue("$did", did);
        command.Parameters.AddWithValue("$after", afterSeq);
        command.Parameters.AddWithValue("$limit", limit);
        var updates = new List<LoggedUpdate>(Math.Min(limit, 1024));
        var commits = new List<LoggedCommit>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (reader.GetInt32(0) == 0)
            {
                updates.Add(new LoggedUpdate(
                    reader.GetInt64(1),
                    reader.GetString(3),
                    LogAppendRules.HashHexOf((byte[])reader.GetValue(4)),
                    LogAppendRules.HashHexOf((byte[])reader.GetValue(5)),
                    reader.GetString(6)));
            }
            else
            {
                commits.Add(new LoggedCommit(reader.GetInt64(1), reader.GetInt64(2), reader.GetString(6)));
            }
        }

        return new LogPage(updates, commits);
    }

    /// <summary>
    /// Each update's text is copied as SQLite gives it in UTF-8 (as it holds it, in a UTF-8 database) into the page's
    /// block, through a native statement: no string, record or hash text per update, and no round trip through UTF-16.
    /// </summary>
    public async Task<PackedLogPage> ReadPackedAsync(string did, long afterSeq, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(did);
        if (limit <= 0)
        {
            return new PackedLogPage(StoredUpdateList.Empty, []);
        }

        using var lease = await _readers.RentAsync(cancellationToken).ConfigureAwait(false);
        var statement = lease.Statement(ReadPackedSql);
        try
        {
            raw.sqlite3_bind_text(statement, raw.sqlite3_bind_parameter_index(statement, "$did"), did);
            raw.sqlite3_bind_int64(statement, raw.sqlite3_bind_parameter_index(statement, "$after"), afterSeq);
            raw.sqlite3_bind_int64(statement, raw.sqlite3_bind_parameter_index(statement, "$limit"), limit);
            var seqs = new List<long>(Math.Min(limit, 1024));
            var ends = new List<int>(Math.Min(limit, 1024));
            var commits = new List<LoggedCommit>();
            var block = lease.Buffer(64 * 1024);
            var length = 0;
            int rc;
            while ((rc = raw.sqlite3_step(statement)) == raw.SQLITE_ROW)
            {
                if (raw.sqlite3_column_int(statement, 0) == 0)
                {
                    // The text as UTF-8, which SQLite converts to only if the database holds UTF-16; the length after it.
                    var utf8 = raw.sqlite3_column_text(statement, 3);
                    var text = MemoryMarshal.CreateReadOnlySpan(in utf8.GetPinnableReference(), raw.sqlite3_column_bytes(statement, 3));
                    if (length + text.Length > block.Length)
                    {
                        var grown = lease.Buffer(checked(length + text.Length));
                        block.AsSpan(0, length).CopyTo(grown);
                        block = grown;
                    }

                    text.CopyTo(block.AsSpan(length));
                    length += text.Length;
                    seqs.Add(raw.sqlite3_column_int64(statement, 1));
                    ends.Add(length);
                }
                else
                {
                    commits.Add(new LoggedCommit(raw.sqlite3_column_int64(statement, 1), raw.sqlite3_column_int64(statement, 2), raw.sqlite3_column_text(statement, 3).utf8_to_string()));
                }
            }

            if (rc != raw.SQLITE_DONE)
            {
                SqliteException.ThrowExceptionForRC(rc, lease.Handle);
            }

            return new PackedLogPage(new StoredUpdateList(block.AsSpan(0, length).ToArray(), [.. seqs], [.. ends]), commits);
        }
        finally
        {
            raw.sqlite3_reset(statement); // ends the read transaction now, not at the connection's next use
        }
    }

    public async Task<LogBounds> GetBoundsAsync(string did, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(did);
        using var lease = await _readers.RentAsync(cancellationToken).ConfigureAwait(false);
        var command = lease.Command(BoundsSql);
        command.Parameters.AddWithValue("$did", did);
        using var reader = command.ExecuteReader();
        return reader.Read() ? new LogBounds(reader.GetInt64(0), reader.GetInt64(1)) : new LogBounds(1, 0);
    }

    public async Task<IReadOnlyDictionary<string, LoggedUpdate>> FindUpdatesAsync(string did, IReadOnlyCollection<string> updateIds, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(did);
        ArgumentNullException.ThrowIfNull(updateIds);
        var found = new Dictionary<string, LoggedUpdate>(StringComparer.Ordinal);
        if (updateIds.Count == 0)
        {
            return found;
        }

        using var lease = await _readers.RentAsync(cancellationToken).ConfigureAwait(false);
        var command = lease.Command(FindSql);
        command.Parameters.AddWithValue("$did", did);
        command.Parameters.AddWithValue("$ids", JsonSerializer.Serialize(updateIds));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var update = new LoggedUpdate(
                reader.GetInt64(0),
                reader.GetString(1),
                LogAppendRules.HashHexOf((byte[])reader.GetValue(2)),
                LogAppendRules.HashHexOf((byte[])reader.GetValue(3)),
                reader.GetString(4));
            found[update.UpdateId] = update;
        }

        return found;
    }

    public async Task<StoredDocument?> ReadDocumentAsync(string did, string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(did);
        ArgumentNullException.ThrowIfNull(path);
        using var lease = await _readers.RentAsync(cancellationToken).ConfigureAwait(false);
        var command = lease.Command(DocumentSql);
        command.Parameters.AddWithValue("$did", did);
        command.Parameters.AddWithValue("$path", path);
        using var reader = command.ExecuteReader();
        return reader.Read() ? new StoredDocument(path, reader.GetString(0), (byte[])reader.GetValue(1), reader.GetInt64(2)) : null;
    }

    public async IAsyncEnumerable<StoredDocument> ReadDocumentsAsync(string did, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // Rows are stepped as the caller consumes them; the connection (and its read snapshot) is held until then.
        ArgumentException.ThrowIfNullOrEmpty(did);
        using var lease = await _readers.RentAsync(cancellationToken).ConfigureAwait(false);
        var command = lease.Command(DocumentsSql);
        command.Parameters.AddWithValue("$did", did);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return new StoredDocument(reader.GetString(0), reader.GetString(1), (byte[])reader.GetValue(2), reader.GetInt64(3));
        }
    }

    public async IAsyncEnumerable<DocumentLeaf> ReadLeavesAsync(string did, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(did);
        using var lease = await _readers.RentAsync(cancellationToken).ConfigureAwait(false);
        var command = lease.Command(LeavesSql);
        command.Parameters.AddWithValue("$did", did);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return new DocumentLeaf(reader.GetString(0), (byte[])reader.GetValue(1), reader.GetInt32(2));
        }
    }

    /// <summary>
    /// Spends a nonce in the writer's next transaction, so that it shares the group commit (one fsync) with the appends
    /// and other spends queued meanwhile instead of committing and syncing on its own. Completes once committed.
    /// </summary>
    internal async Task<bool> SpendNonceAsync(NonceScope scope, string nonce, long nowMs, long expiresAtMs, CancellationToken cancellationToken)
    {
        var spent = false;
        await _writer.RunAsync(s => spent = s.SpendNonce(scope, nonce, nowMs, expiresAtMs), 1, cancellationToken);
        return spent;
    }

    /// <summary>Waits for queued writes to commit, then closes every connection. Once: the ledger's registration shares this log.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _writer.Dispose();
        _readers.Dispose();
    }
}
