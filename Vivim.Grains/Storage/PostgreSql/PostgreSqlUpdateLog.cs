using System.Buffers;
using System.Runtime.CompilerServices;
using Npgsql;
using NpgsqlTypes;
using Vivim.Protocol.Sync;

namespace Vivim.Storage.PostgreSql;

/// <summary>
/// The update log in PostgreSQL (the tables of migration <c>0002_update_log</c>, which must have been applied).
/// Every operation is one statement, so one round trip and one implicit transaction: an append moves the DID's
/// head row only if it continues the log, and inserts its updates, commit and documents (from arrays, whatever the
/// batch size) only through that moved row — so a refused or failed append writes nothing.
/// </summary>
public sealed class PostgreSqlUpdateLog(NpgsqlDataSource dataSource) : IUpdateLog
{
    // The unique index on (did_id, update_id) of migration 0002: an append that repeats a retained id fails on it.
    private const string UpdateIdIndex = "vivim_log_updates_update_id";

    // The head row is moved (an existing log) or created (a first append, from seq 1); "head" is empty unless one
    // of them succeeded, and every insert below joins it. A racing appender waits on the head row's lock and then
    // finds last_seq moved; two first appends meet in the unique index on did and one inserts nothing.
    // Deleted documents are matched as (did_id, path) pairs, not "path = ANY(paths)" (see FindSql), and an append
    // that deletes nothing never reaches the table (the cardinality test is evaluated once).
    internal const string AppendSql = """
        WITH moved AS (
            UPDATE vivim_log_heads SET last_seq = $3
            WHERE did = $1 AND last_seq = $2 - 1
            RETURNING id),
        created AS (
            INSERT INTO vivim_log_heads (did, last_seq, first_retained_seq)
            SELECT $1, $3, 1 WHERE $2 = 1 AND NOT EXISTS (SELECT FROM moved)
            ON CONFLICT (did) DO NOTHING
            RETURNING id),
        head AS (SELECT id FROM moved UNION ALL SELECT id FROM created),
        updates AS (
            INSERT INTO vivim_log_updates (did_id, seq, update_id, update_hash, root, json)
            SELECT head.id, u.seq, u.update_id, u.update_hash, u.root, u.json
            FROM head, unnest($5::bigint[], $6::text[], $7::bytea[], $8::bytea[], $9::text[]) AS u(seq, update_id, update_hash, root, json)),
        commits AS (
            INSERT INTO vivim_log_commits (did_id, from_seq, to_seq, json)
            SELECT head.id, $2, $3, $4 FROM head),
        written AS (
            INSERT INTO vivim_documents (did_id, path, json, value, seq)
            SELECT head.id, d.path, d.json, d.value, d.seq
            FROM head, unnest($10::text[], $11::text[], $12::bytea[], $13::bigint[]) AS d(path, json, value, seq)
            ON CONFLICT (did_id, path) DO UPDATE SET json = excluded.json, value = excluded.value, seq = excluded.seq),
        deleted AS (
            DELETE FROM vivim_documents d
            WHERE cardinality($14::text[]) > 0
              AND (d.did_id, d.path) IN (SELECT head.id, gone.path FROM head, unnest($14::text[]) AS gone(path)))
        SELECT id FROM head
        """;

    // One statement, so one snapshot: the page and the commits overlapping exactly its seqs. Commits do not
    // overlap each other, so the first of them is the last one starting at or before the page: both ends of the
    // commit range are index seeks, however long the log. The page's rows and the commits' range are shared by the
    // two reads below; only what each sends of them differs.
    private const string PageRows = """
        WITH head AS (SELECT id FROM vivim_log_heads WHERE did = $1),
        page AS (
            SELECT seq, update_id, update_hash, root, json FROM vivim_log_updates
            WHERE did_id = (SELECT id FROM head) AND seq > $2
            ORDER BY seq
            LIMIT $3),
        span AS (SELECT min(seq) AS first, max(seq) AS last FROM page)
        """;

    private const string PageCommitRows = """
        FROM vivim_log_commits c, span
        WHERE c.did_id = (SELECT id FROM head)
          AND c.from_seq >= (SELECT max(from_seq) FROM vivim_log_commits WHERE did_id = (SELECT id FROM head) AND from_seq <= span.first)
          AND c.from_seq <= span.last
        ORDER BY kind, seq
        """;

    private const string ReadSql = PageRows + "\n" + """
        SELECT 0 AS kind, seq, NULL::bigint AS to_seq, update_id, update_hash, root, json FROM page
        UNION ALL
        SELECT 1, c.from_seq, c.to_seq, NULL, NULL, NULL, c.json
        """ + "\n" + PageCommitRows;

    // For the anchor's packed reads: each update's text as UTF-8 bytes (whatever the database's encoding), nothing else.
    private const string ReadPackedSql = PageRows + "\n" + """
        SELECT 0 AS kind, seq, NULL::bigint AS to_seq, convert_to(json, 'UTF8') AS utf8, NULL::text AS json FROM page
        UNION ALL
        SELECT 1, c.from_seq, c.to_seq, NULL, c.json
        """ + "\n" + PageCommitRows;

    private const string BoundsSql = "SELECT first_retained_seq, last_seq FROM vivim_log_heads WHERE did = $1";

    // Never past the last seq + 1, so that the next append still lands in the retained range.
    private const string TruncateSql = """
        WITH head AS (
            UPDATE vivim_log_heads SET first_retained_seq = greatest(first_retained_seq, least($2, last_seq) + 1)
            WHERE did = $1
            RETURNING id, first_retained_seq),
        updates AS (
            DELETE FROM vivim_log_updates u USING head WHERE u.did_id = head.id AND u.seq < head.first_retained_seq)
        DELETE FROM vivim_log_commits c USING head WHERE c.did_id = head.id AND c.to_seq < head.first_retained_seq
        """;

    // One index lookup per id, whatever the statistics say. With "did_id = x AND update_id = ANY(ids)" PostgreSQL may
    // keep the array out of the index condition (it does when its statistics show few rows per DID, as a service with
    // many small DIDs has) and then filter every update of the DID, on every submitted batch. The fenced LATERAL
    // (OFFSET 0) cannot be turned into a join that scans the DID either.
    internal const string FindSql = """
        SELECT u.seq, u.update_id, u.update_hash, u.root, u.json
        FROM (SELECT id FROM vivim_log_heads WHERE did = $1) AS head, unnest($2::text[]) AS wanted(update_id),
            LATERAL (SELECT seq, update_id, update_hash, root, json FROM vivim_log_updates
                     WHERE did_id = head.id AND update_id = wanted.update_id OFFSET 0) AS u
        """;

    private const string DocumentSql = """
        SELECT json, value, seq FROM vivim_documents
        WHERE did_id = (SELECT id FROM vivim_log_heads WHERE did = $1) AND path = $2
        """;

    private const string DocumentsSql = """
        SELECT path, json, value, seq FROM vivim_documents
        WHERE did_id = (SELECT id FROM vivim_log_heads WHERE did = $1)
        """;

    private const string LeavesSql = """
        SELECT path, value, octet_length(json) FROM vivim_documents
        WHERE did_id = (SELECT id FROM vivim_log_heads WHERE did = $1)
        """;

    private const string DeleteSql = """
        WITH head AS (DELETE FROM vivim_log_heads WHERE did = $1 RETURNING id),
        updates AS (DELETE FROM vivim_log_updates u USING head WHERE u.did_id = head.id),
        commits AS (DELETE FROM vivim_log_commits c USING head WHERE c.did_id = head.id)
        DELETE FROM vivim_documents d USING head WHERE d.did_id = head.id
        """;

    public bool RefusesRetainedUpdateIds => true;

    public async Task AppendAsync(string did, LogAppend append, CancellationToken cancellationToken = default)
    {
        LogAppendRules.Validate(did, append);
        var updates = append.Updates;
        var count = updates.Count;
        var seqs = new long[count];
        var ids = new string[count];
        var hashes = new byte[count][];
        var roots = new byte[count][];
        var jsons = new string[count];
        for (var i = 0; i < count; i++)
        {
            var update = updates[i];
            seqs[i] = update.Seq;
            ids[i] = update.UpdateId;
            hashes[i] = LogAppendRules.HashBytesOf(update.UpdateHash);
            roots[i] = LogAppendRules.HashBytesOf(update.Root);
            jsons[i] = update.Json;
        }

        var documents = LogAppendRules.LastPerPath(append.Documents);
        var written = documents.Where(d => d.Json is not null).ToList();
        var deleted = documents.Where(d => d.Json is null).Select(d => d.Path).ToArray();

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(AppendSql, connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = did, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = append.Commit.FromSeq });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = append.Commit.ToSeq });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = append.Commit.Json, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = seqs });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = ids, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = hashes, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        command.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = roots, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = jsons, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. written.Select(d => d.Path)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. written.Select(d => d.Json!)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = [.. written.Select(d => d.Value!)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. written.Select(d => d.Seq)] });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = deleted, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        await command.PrepareAsync(cancellationToken).ConfigureAwait(false);
        object? head;
        try
        {
            head = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && e.ConstraintName == UpdateIdIndex)
        {
            // The statement failed as a whole: its head move and inserts are undone with it.
            throw new UpdateLogRepeatedUpdateException($"Append for {did} holds an update id the log already has.");
        }

        if (head is null)
        {
            var bounds = await GetBoundsAsync(did, cancellationToken).ConfigureAwait(false);
            throw new UpdateLogConflictException($"Append for {did} starts at seq {append.Commit.FromSeq}, the log expects {bounds.LastSeq + 1}.");
        }
    }

    public async Task<LogPage> ReadAsync(string did, long afterSeq, int limit, CancellationToken cancellationToken = default)
    {
        if (limit <= 0)
        {
            return new LogPage([], []);
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, ReadSql, did);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = afterSeq });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        await command.PrepareAsync(cancellationToken).ConfigureAwait(false);
        var updates = new List<LoggedUpdate>(Math.Min(limit, 1024));
        var commits = new List<LoggedCommit>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (reader.GetInt32(0) == 0)
            {
                updates.Add(new LoggedUpdate(
                    reader.GetInt64(1),
                    reader.GetString(3),
                    LogAppendRules.HashHexOf(reader.GetFieldValue<byte[]>(4)),
                    LogAppendRules.HashHexOf(reader.GetFieldValue<byte[]>(5)),
                    reader.GetString(6)));
            }
            else
            {
                commits.Add(new LoggedCommit(reader.GetInt64(1), reader.GetInt64(2), reader.GetString(6)));
            }
        }

        return new LogPage(updates, commits);
    }

    /// <summary>The page's update texts copied from the rows' bytes into one block: no string, hash text or record per update.</summary>
    public async Task<PackedLogPage> ReadPackedAsync(string did, long afterSeq, int limit, CancellationToken cancellationToken = default)
    {
        if (limit <= 0)
        {
            return new PackedLogPage(StoredUpdateList.Empty, []);
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, ReadPackedSql, did);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = afterSeq });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        await command.PrepareAsync(cancellationToken).ConfigureAwait(false);
        var seqs = new List<long>(Math.Min(limit, 1024));
        var ends = new List<int>(Math.Min(limit, 1024));
        var commits = new List<LoggedCommit>();

        // The page is gathered in pooled buffers and copied once at its size: a page of a thousand updates is over a
        // megabyte, and growing a fresh array to it allocated (and cleared) about four times that for every page.
        var block = ArrayPool<byte>.Shared.Rent(64 * 1024);
        var length = 0;
        try
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (reader.GetInt32(0) == 0)
                {
                    var size = checked((int)reader.GetBytes(3, 0, null, 0, 0));
                    if (length + size > block.Length)
                    {
                        var grown = ArrayPool<byte>.Shared.Rent(Math.Max(checked(length + size), block.Length * 2));
                        block.AsSpan(0, length).CopyTo(grown);
                        ArrayPool<byte>.Shared.Return(block);
                        block = grown;
                    }

                    reader.GetBytes(3, 0, block, length, size);
                    length += size;
                    seqs.Add(reader.GetInt64(1));
                    ends.Add(length);
                }
                else
                {
                    commits.Add(new LoggedCommit(reader.GetInt64(1), reader.GetInt64(2), reader.GetString(4)));
                }
            }

            return new PackedLogPage(new StoredUpdateList(block.AsSpan(0, length).ToArray(), [.. seqs], [.. ends]), commits);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(block);
        }
    }

    public async Task<LogBounds> GetBoundsAsync(string did, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, BoundsSql, did);
        await command.PrepareAsync(cancellationToken).ConfigureAwait(false);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new LogBounds(reader.GetInt64(0), reader.GetInt64(1))
            : new LogBounds(1, 0);
    }

    public async Task TruncateAsync(string did, long throughSeq, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, TruncateSql, did);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = throughSeq });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyDictionary<string, LoggedUpdate>> FindUpdatesAsync(string did, IReadOnlyCollection<string> updateIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(updateIds);
        var found = new Dictionary<string, LoggedUpdate>(StringComparer.Ordinal);
        if (updateIds.Count == 0)
        {
            return found;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, FindSql, did);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. updateIds], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        await command.PrepareAsync(cancellationToken).ConfigureAwait(false);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var update = new LoggedUpdate(
                reader.GetInt64(0),
                reader.GetString(1),
                LogAppendRules.HashHexOf(reader.GetFieldValue<byte[]>(2)),
                LogAppendRules.HashHexOf(reader.GetFieldValue<byte[]>(3)),
                reader.GetString(4));
            found[update.UpdateId] = update;
        }

        return found;
    }

    public async Task<StoredDocument?> ReadDocumentAsync(string did, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, DocumentSql, did);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = path, NpgsqlDbType = NpgsqlDbType.Text });
        await command.PrepareAsync(cancellationToken).ConfigureAwait(false);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new StoredDocument(path, reader.GetString(0), reader.GetFieldValue<byte[]>(1), reader.GetInt64(2))
            : null;
    }

    public async IAsyncEnumerable<StoredDocument> ReadDocumentsAsync(string did, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // Rows are read off the connection as the caller consumes them: nothing is buffered beyond Npgsql's read buffer.
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, DocumentsSql, did);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return new StoredDocument(reader.GetString(0), reader.GetString(1), reader.GetFieldValue<byte[]>(2), reader.GetInt64(3));
        }
    }

    public async IAsyncEnumerable<DocumentLeaf> ReadLeavesAsync(string did, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, LeavesSql, did);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return new DocumentLeaf(reader.GetString(0), reader.GetFieldValue<byte[]>(1), reader.GetInt32(2));
        }
    }

    public async Task DeleteAsync(string did, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, DeleteSql, did);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, string did)
    {
        ArgumentException.ThrowIfNullOrEmpty(did);
        var command = new NpgsqlCommand(sql, connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = did, NpgsqlDbType = NpgsqlDbType.Text });
        return command;
    }
}
