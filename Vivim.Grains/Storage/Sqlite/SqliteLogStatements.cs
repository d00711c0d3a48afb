using Microsoft.Data.Sqlite;

namespace Vivim.Storage.Sqlite;

/// <summary>
/// The writer's statements, prepared once on the writer connection and reused by every write (SQLite runs them
/// in process, so a row per execution costs microseconds and no round trip), and the writes made of them. Only
/// the writer thread uses it, inside its transaction.
/// </summary>
internal sealed class SqliteLogStatements : IDisposable
{
    // An id already in the DID's log inserts nothing (the append then fails whole): the id index holds only the ids'
    // last characters (migration 0007), so it cannot refuse a repeated id itself; the look reads a page the commit's
    // own insert is about to write. `+update_id`: with a plain `update_id = $updateId`, SQLite 3.40 (Debian 12's)
    // substitutes the parameter into the indexed expression, which then no longer matches the index, and the look
    // scans the DID's entries; the SQLite bundled with the driver does not, but the plan should not depend on it.
    internal const string InsertUpdateSql = """
        INSERT INTO vivim_log_updates (did_id, seq, update_id, update_hash, root, json)
        SELECT $id, $seq, $updateId, $hash, $root, $json
        WHERE NOT EXISTS (
            SELECT 1 FROM vivim_log_updates
            WHERE did_id = $id AND substr(update_id, -6) = substr($updateId, -6) AND +update_id = $updateId)
        """;

    private readonly SqliteCommand _head;
    private readonly SqliteCommand _createHead;
    private readonly SqliteCommand _moveHead;
    private readonly SqliteCommand _insertUpdate;
    private readonly SqliteCommand _insertCommit;
    private readonly SqliteCommand _writeDocument;
    private readonly SqliteCommand _deleteDocument;
    private readonly SqliteCommand _truncateHead;
    private readonly SqliteCommand _truncateUpdates;
    private readonly SqliteCommand _truncateCommits;
    private readonly SqliteCommand _deleteUpdates;
    private readonly SqliteCommand _deleteCommits;
    private readonly SqliteCommand _deleteDocuments;
    private readonly SqliteCommand _deleteHead;
    private readonly SqliteCommand _spendNonce;
    private readonly SqliteCommand _savepoint;
    private readonly SqliteCommand _release;
    private readonly SqliteCommand _rollbackToSavepoint;
    private readonly SqliteCommand[] _all;

    public SqliteLogStatements(SqliteConnection connection)
    {
        _head = Prepare(connection, "SELECT id, last_seq, first_retained_seq FROM vivim_log_heads WHERE did = $did", "$did");
        _createHead = Prepare(connection, "INSERT INTO vivim_log_heads (did, last_seq, first_retained_seq) VALUES ($did, $last, 1) RETURNING id", "$did", "$last");
        _moveHead = Prepare(connection, "UPDATE vivim_log_heads SET last_seq = $last WHERE id = $id", "$id", "$last");
        _insertUpdate = Prepare(connection, InsertUpdateSql, "$id", "$seq", "$updateId", "$hash", "$root", "$json");
        _insertCommit = Prepare(connection, "INSERT INTO vivim_log_commits (did_id, from_seq, to_seq, json) VALUES ($id, $from, $to, $json)", "$id", "$from", "$to", "$json");
        _writeDocument = Prepare(
            connection,
            "INSERT INTO vivim_documents (did_id, path, json, value, seq) VALUES ($id, $path, $json, $value, $seq) ON CONFLICT (did_id, path) DO UPDATE SET json = excluded.json, value = excluded.value, seq = excluded.seq",
            "$id", "$path", "$json", "$value", "$seq");
        _deleteDocument = Prepare(connection, "DELETE FROM vivim_documents WHERE did_id = $id AND path = $path", "$id", "$path");
        _truncateHead = Prepare(connection, "UPDATE vivim_log_heads SET first_retained_seq = $first WHERE id = $id", "$id", "$first");
        _truncateUpdates = Prepare(connection, "DELETE FROM vivim_log_updates WHERE did_id = $id AND seq < $first", "$id", "$first");
        _truncateCommits = Prepare(connection, "DELETE FROM vivim_log_commits WHERE did_id = $id AND to_seq < $first", "$id", "$first");
        _deleteUpdates = Prepare(connection, "DELETE FROM vivim_log_updates WHERE did_id = $id", "$id");
        _deleteCommits = Prepare(connection, "DELETE FROM vivim_log_commits WHERE did_id = $id", "$id");
        _deleteDocuments = Prepare(connection, "DELETE FROM vivim_documents WHERE did_id = $id", "$id");
        _deleteHead = Prepare(connection, "DELETE FROM vivim_log_heads WHERE id = $id", "$id");
        _spendNonce = Prepare(connection, SqliteNonceLedger.SpendSql, "$did", "$clone", "$nonce", "$expires", "$now");
        // Each write's savepoint, prepared once: SqliteTransaction.Save and Release compile their statement on every call.
        _savepoint = Prepare(connection, "SAVEPOINT w");
        _release = Prepare(connection, "RELEASE w");
        _rollbackToSavepoint = Prepare(connection, "ROLLBACK TO w");
        _all = [_head, _createHead, _moveHead, _insertUpdate, _insertCommit, _writeDocument, _deleteDocument, _truncateHead, _truncateUpdates, _truncateCommits, _deleteUpdates, _deleteCommits, _deleteDocuments, _deleteHead, _spendNonce, _savepoint, _release, _rollbackToSavepoint];
    }

    /// <summary>Points every statement at the writer's current transaction (Microsoft.Data.Sqlite requires it).</summary>
    public void Enlist(SqliteTransaction? transaction)
    {
        foreach (var command in _all)
        {
            command.Transaction = transaction;
        }
    }

    /// <summary>Opens the savepoint that lets one write of the group fail alone.</summary>
    public void BeginWrite() => _savepoint.ExecuteNonQuery();

    /// <summary>Keeps the write in the group's transaction.</summary>
    public void EndWrite() => _release.ExecuteNonQuery();

    /// <summary>Undoes the write alone, then closes its savepoint. Throws when SQLite already rolled the whole transaction back.</summary>
    public void UndoWrite()
    {
        _rollbackToSavepoint.ExecuteNonQuery();
        _release.ExecuteNonQuery();
    }

    /// <summary>An append, already validated: refused unless it continues the log; the caller's savepoint undoes a failure half-way.</summary>
    public void Append(string did, LogAppend append)
    {
        var first = append.Commit.FromSeq;
        var last = append.Commit.ToSeq;
        long id;
        if (ReadHead(did) is { } head)
        {
            if (head.LastSeq != first - 1)
            {
                throw new UpdateLogConflictException($"Append for {did} starts at seq {first}, the log expects {head.LastSeq + 1}.");
            }

            id = head.Id;
            Run(_moveHead, id, last);
        }
        else if (first == 1)
        {
            _createHead.Parameters[0].Value = did;
            _createHead.Parameters[1].Value = last;
            id = (long)_createHead.ExecuteScalar()!;
        }
        else
        {
            throw new UpdateLogConflictException($"Append for {did} starts at seq {first}, the log expects 1.");
        }

        foreach (var update in append.Updates)
        {
            var p = _insertUpdate.Parameters;
            p[0].Value = id;
            p[1].Value = update.Seq;
            p[2].Value = update.UpdateId;
            p[3].Value = LogAppendRules.HashBytesOf(update.UpdateHash);
            p[4].Value = LogAppendRules.HashBytesOf(update.Root);
            p[5].Value = update.Json;
            if (_insertUpdate.ExecuteNonQuery() == 0)
            {
                throw new InvalidOperationException($"Update {update.UpdateId} is already in the log of {did}.");
            }
        }

        Run(_insertCommit, id, first, last, append.Commit.Json);
        foreach (var change in LogAppendRules.LastPerPath(append.Documents))
        {
            if (change.Json is null)
            {
                Run(_deleteDocument, id, change.Path);
            }
            else
            {
                Run(_writeDocument, id, change.Path, change.Json, change.Value!, change.Seq);
            }
        }
    }

    public void Truncate(string did, long throughSeq)
    {
        if (ReadHead(did) is not { } head)
        {
            return;
        }

        // Never past the last seq + 1, so that the next append still lands in the retained range.
        var first = Math.Max(head.FirstRetainedSeq, Math.Min(throughSeq, head.LastSeq) + 1);
        if (first == head.FirstRetainedSeq)
        {
            return;
        }

        Run(_truncateHead, head.Id, first);
        Run(_truncateUpdates, head.Id, first);
        Run(_truncateCommits, head.Id, first);
    }

    public void Delete(string did)
    {
        if (ReadHead(did) is not { } head)
        {
            return;
        }

        Run(_deleteUpdates, head.Id);
        Run(_deleteCommits, head.Id);
        Run(_deleteDocuments, head.Id);
        Run(_deleteHead, head.Id);
    }

    private (long Id, long LastSeq, long FirstRetainedSeq)? ReadHead(string did)
    {
        _head.Parameters[0].Value = did;
        using var reader = _head.ExecuteReader();
        return reader.Read() ? (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2)) : null;
    }

    /// <summary>Spends a nonce (see <see cref="SqliteNonceLedger"/>): true when this spend took it.</summary>
    public bool SpendNonce(NonceScope scope, string nonce, long nowMs, long expiresAtMs)
    {
        _spendNonce.Parameters[0].Value = scope.ExitNodeDid;
        _spendNonce.Parameters[1].Value = scope.CloneId;
        _spendNonce.Parameters[2].Value = nonce;
        _spendNonce.Parameters[3].Value = expiresAtMs;
        _spendNonce.Parameters[4].Value = nowMs;
        return _spendNonce.ExecuteNonQuery() == 1;
    }

    private static void Run(SqliteCommand command, params ReadOnlySpan<object> values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i];
        }

        command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        foreach (var command in _all)
        {
            command.Dispose();
        }
    }

    internal static SqliteCommand Prepare(SqliteConnection connection, string sql, params string[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in parameters)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        return command;
    }

    internal static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    internal static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
