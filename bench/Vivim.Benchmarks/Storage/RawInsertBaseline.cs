using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;
using Vivim.Storage;
using Vivim.Storage.Schema;

namespace Vivim.Benchmarks.Storage;

/// <summary>
/// The database's own speed at storing the rows of an ingest: the same update, commit and document rows, in the same
/// batches, written straight into the log's tables with plain inserts (no head row, no conflict check, no upsert) —
/// PostgreSQL: one statement per batch from arrays, as many batches in flight as the grain run had DIDs; SQLite:
/// one transaction per batch on one connection with <c>synchronous = FULL</c> (SQLite has one writer). Rows go under
/// negative DID ids, which no head row ever has.
/// </summary>
internal static class RawInsertBaseline
{
    private const string PostgresBatchSql = """
        WITH updates AS (
            INSERT INTO vivim_log_updates (did_id, seq, update_id, update_hash, root, json)
            SELECT $1, u.* FROM unnest($2::bigint[], $3::text[], $4::bytea[], $5::bytea[], $6::text[]) AS u),
        commits AS (
            INSERT INTO vivim_log_commits (did_id, from_seq, to_seq, json) VALUES ($1, $7, $8, $9))
        INSERT INTO vivim_documents (did_id, path, json, value, seq)
        SELECT $1, d.* FROM unnest($10::text[], $11::text[], $12::bytea[], $13::bigint[]) AS d
        """;

    public static Task<IngestRun> RunAsync(BenchDatabase database, IReadOnlyList<IReadOnlyList<LogAppend>> perDid) => database.Kind switch
    {
        DatabaseKind.PostgreSql => RunPostgresAsync(database.DataSource!, perDid),
        DatabaseKind.Sqlite => Task.FromResult(RunSqlite(database.SqliteFile!, perDid)),
        _ => throw new InvalidOperationException("Raw inserts need a database."),
    };

    private static async Task<IngestRun> RunPostgresAsync(NpgsqlDataSource dataSource, IReadOnlyList<IReadOnlyList<LogAppend>> perDid)
    {
        var latencies = new List<double>();
        var total = 0L;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(perDid.Select((batches, d) => Task.Run(async () =>
        {
            foreach (var append in batches)
            {
                var started = Stopwatch.GetTimestamp();
                await using var connection = await dataSource.OpenConnectionAsync();
                await using var command = new NpgsqlCommand(PostgresBatchSql, connection);
                var u = append.Updates;
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = -1L - d });
                command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. u.Select(x => x.Seq)] });
                command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. u.Select(x => x.UpdateId)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                command.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = [.. u.Select(x => Convert.FromHexString(x.UpdateHash))] });
                command.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = [.. u.Select(x => Convert.FromHexString(x.Root))] });
                command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. u.Select(x => x.Json)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = append.Commit.FromSeq });
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = append.Commit.ToSeq });
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = append.Commit.Json, NpgsqlDbType = NpgsqlDbType.Text });
                command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. append.Documents.Select(x => x.Path)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. append.Documents.Select(x => x.Json!)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                command.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = [.. append.Documents.Select(x => x.Value!)] });
                command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. append.Documents.Select(x => x.Seq)] });
                await command.PrepareAsync();
                await command.ExecuteNonQueryAsync();
                lock (latencies)
                {
                    latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    total += u.Count;
                }
            }
        })));
        return new IngestRun(total, clock.Elapsed, latencies);
    }

    private static IngestRun RunSqlite(string file, IReadOnlyList<IReadOnlyList<LogAppend>> perDid)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false, DefaultTimeout = 30 }.ConnectionString);
        connection.Open();
        Execute(connection, "PRAGMA synchronous = FULL");
        using var update = Command(connection, "INSERT INTO vivim_log_updates (did_id, seq, update_id, update_hash, root, json) VALUES ($p1, $p2, $p3, $p4, $p5, $p6)", 6);
        using var commit = Command(connection, "INSERT INTO vivim_log_commits (did_id, from_seq, to_seq, json) VALUES ($p1, $p2, $p3, $p4)", 4);
        using var document = Command(connection, "INSERT INTO vivim_documents (did_id, path, json, value, seq) VALUES ($p1, $p2, $p3, $p4, $p5)", 5);
        var latencies = new List<double>();
        var total = 0L;
        var clock = Stopwatch.StartNew();
        // Round-robin over DIDs, as concurrent writers would interleave.
        var rounds = perDid.Max(b => b.Count);
        for (var r = 0; r < rounds; r++)
        {
            for (var d = 0; d < perDid.Count; d++)
            {
                if (r >= perDid[d].Count)
                {
                    continue;
                }

                var append = perDid[d][r];
                var started = Stopwatch.GetTimestamp();
                using (var transaction = connection.BeginTransaction(deferred: false))
                {
                    update.Transaction = commit.Transaction = document.Transaction = transaction;
                    foreach (var u in append.Updates)
                    {
                        Run(update, -1L - d, u.Seq, u.UpdateId, Convert.FromHexString(u.UpdateHash), Convert.FromHexString(u.Root), u.Json);
                    }

                    Run(commit, -1L - d, append.Commit.FromSeq, append.Commit.ToSeq, append.Commit.Json);
                    foreach (var c in append.Documents)
                    {
                        Run(document, -1L - d, c.Path, c.Json!, c.Value!, c.Seq);
                    }

                    transaction.Commit();
                }

                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                total += append.Updates.Count;
            }
        }

        return new IngestRun(total, clock.Elapsed, latencies);
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql, int parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        for (var i = 1; i <= parameters; i++)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = "$p" + i });
        }

        return command;
    }

    private static void Run(SqliteCommand command, params ReadOnlySpan<object> values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i];
        }

        command.ExecuteNonQuery();
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
