using Npgsql;
using Vivim.Storage;
using Vivim.Storage.PostgreSql;
using Vivim.Tests.Support;

namespace Vivim.Tests.Storage;

public sealed class UpdateLogConformancePostgreSql(PostgresLogFixture fixture) : UpdateLogConformance, IClassFixture<PostgresLogFixture>
{
    protected override IUpdateLog Log => fixture.Log;

    [Fact]
    public async Task Ids_and_deleted_paths_are_looked_up_one_by_one_in_the_index_whatever_the_statistics_say()
    {
        // A service with many small DIDs gives PostgreSQL statistics of few rows per DID. With them, a lookup written as
        // "did_id = x AND update_id = ANY(ids)" was planned on the DID alone with the ids as a filter, so each submitted
        // batch read all of the DID's updates (and each append all of its documents): 100-770 µs of the server's CPU per
        // update in durable-ingest where index lookups cost 30-40. The generic plan is the one a prepared statement keeps.
        await using var database = await Postgres.CreateDatabaseAsync();
        await UpdateLogDatabases.MigratePostgresAsync(database.ConnectionString);
        await using var dataSource = NpgsqlDataSource.Create(database.ConnectionString);
        var log = new PostgreSqlUpdateLog(dataSource);
        var dids = Enumerable.Range(0, 400).Select(_ => NewDid()).ToList();
        await Parallel.ForEachAsync(dids, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (did, _) => await log.AppendAsync(did, Batch(did, 1, 2)));

        await using var connection = await dataSource.OpenConnectionAsync();
        await using (var analyze = new NpgsqlCommand("ANALYZE", connection))
        {
            await analyze.ExecuteNonQueryAsync();
        }

        var find = await GenericPlanAsync(connection, "find", "text, text[]", PostgreSqlUpdateLog.FindSql, "'did', ARRAY['x']");
        Assert.Contains(find, line => line.Contains("Index Cond:", StringComparison.Ordinal) && line.Contains("update_id = wanted.update_id", StringComparison.Ordinal));
        Assert.DoesNotContain(find, line => line.Contains("Filter:", StringComparison.Ordinal) && line.Contains("update_id", StringComparison.Ordinal));

        var append = await GenericPlanAsync(
            connection,
            "append",
            "text, bigint, bigint, text, bigint[], text[], bytea[], bytea[], text[], text[], text[], bytea[], bigint[], text[]",
            PostgreSqlUpdateLog.AppendSql,
            @"'did', 3, 3, '{}', ARRAY[3::bigint], ARRAY['x'], ARRAY['\x00'::bytea], ARRAY['\x00'::bytea], ARRAY['{}'], ARRAY['p'], ARRAY['{}'], ARRAY['\x00'::bytea], ARRAY[3::bigint], ARRAY['gone']");
        Assert.DoesNotContain(append, line => line.Contains("Filter:", StringComparison.Ordinal) && line.Contains("ANY", StringComparison.Ordinal));
        Assert.Contains(append, line => line.Contains("One-Time Filter: (cardinality($14) > 0)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_append_repeating_a_retained_update_id_is_refused_as_such_and_writes_nothing()
    {
        // The anchor commits without looking ids up first on this log, so the append itself must refuse a retry.
        Assert.True(Log.RefusesRetainedUpdateIds);
        var did = NewDid();
        await Log.AppendAsync(did, Batch(did, 1, 3));
        var bounds = await Log.GetBoundsAsync(did);
        var documents = (await ToListAsync(Log.ReadDocumentsAsync(did))).Select(d => (d.Path, d.Json, d.Seq)).OrderBy(d => d.Path, StringComparer.Ordinal).ToList();

        // Seqs 4..5 continue the log, but the second update carries seq 2's id: nothing of it may land.
        var fresh = Update(did, 4, "fresh");
        var repeated = Update(did, 5) with { UpdateId = UpdateId(did, 2) };
        var append = new LogAppend([fresh, repeated], Commit(4, 5), [Change("nodes/4", "{}", 4), Change("nodes/1", null, 5)]);
        await Assert.ThrowsAsync<UpdateLogRepeatedUpdateException>(() => Log.AppendAsync(did, append));

        Assert.Equal(bounds, await Log.GetBoundsAsync(did));
        Assert.Empty((await Log.ReadAsync(did, 3, 10)).Updates);
        Assert.Empty(await Log.FindUpdatesAsync(did, [fresh.UpdateId]));
        Assert.Equal(documents, (await ToListAsync(Log.ReadDocumentsAsync(did))).Select(d => (d.Path, d.Json, d.Seq)).OrderBy(d => d.Path, StringComparer.Ordinal).ToList());

        // The same seqs with fresh ids then append, and an id of another DID is not a repeat.
        var other = NewDid();
        await Log.AppendAsync(other, Batch(other, 1, 1));
        await Log.AppendAsync(did, new LogAppend([fresh, Update(did, 5) with { UpdateId = UpdateId(other, 1) }], Commit(4, 5), [Change("nodes/4", "{}", 4)]));
        Assert.Equal(5, (await Log.GetBoundsAsync(did)).LastSeq);
    }

    private static async Task<List<string>> GenericPlanAsync(NpgsqlConnection connection, string name, string types, string sql, string arguments)
    {
        await using var command = new NpgsqlCommand($"SET plan_cache_mode = force_generic_plan; PREPARE {name}({types}) AS {sql}; EXPLAIN EXECUTE {name}({arguments})", connection);
        var plan = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        do
        {
            while (await reader.ReadAsync())
            {
                if (reader.FieldCount == 1 && reader.GetName(0) == "QUERY PLAN")
                {
                    plan.Add(reader.GetString(0));
                }
            }
        }
        while (await reader.NextResultAsync());

        Assert.NotEmpty(plan);
        return plan;
    }
}
