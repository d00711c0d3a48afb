using Microsoft.Data.Sqlite;
using Vivim.Storage;
using Vivim.Storage.Sqlite;
using Vivim.Tests.Support;

namespace Vivim.Tests.Storage;

public sealed class UpdateLogConformanceSqlite(SqliteLogFixture fixture) : UpdateLogConformance, IClassFixture<SqliteLogFixture>
{
    protected override IUpdateLog Log => fixture.Log;

    [Fact]
    public async Task The_file_is_in_WAL_mode_and_a_reopened_log_holds_every_acknowledged_append()
    {
        var file = await UpdateLogDatabases.CreateSqliteAsync();
        try
        {
            var did = NewDid();
            var appends = Enumerable.Range(0, 20).Select(i => Batch(did, 1 + (i * 5), 5)).ToList();
            using (var log = new SqliteUpdateLog(file))
            {
                foreach (var append in appends)
                {
                    await log.AppendAsync(did, append);
                }
            }

            await using (var connection = new SqliteConnection($"Data Source={file};Pooling=false"))
            {
                await connection.OpenAsync();
                await using var command = connection.CreateCommand();
                command.CommandText = "PRAGMA journal_mode";
                Assert.Equal("wal", await command.ExecuteScalarAsync());
            }

            using var reopened = new SqliteUpdateLog(file);
            Assert.Equal(new LogBounds(1, 100), await reopened.GetBoundsAsync(did));
            Assert.Equal(appends.SelectMany(a => a.Updates), (await reopened.ReadAsync(did, 0, 1000)).Updates);
            Assert.Equal(100, (await ToListAsync(reopened.ReadDocumentsAsync(did))).Count);
        }
        finally
        {
            UpdateLogDatabases.DeleteSqlite(file);
        }
    }

    [Fact]
    public async Task A_database_that_holds_its_text_as_UTF16_serves_packed_pages_in_UTF8()
    {
        // The encoding is a database's own, fixed by its first table: an operator's file may have been made otherwise.
        var directory = Path.Combine(Path.GetTempPath(), "vivim-sqlite-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, "vivim.db");
        try
        {
            await using (var connection = new SqliteConnection($"Data Source={file};Pooling=false"))
            {
                await connection.OpenAsync();
                await using var command = connection.CreateCommand();
                command.CommandText = "PRAGMA encoding = 'UTF-16le'; CREATE TABLE made_elsewhere (x INTEGER); PRAGMA encoding";
                Assert.Equal("UTF-16le", await command.ExecuteScalarAsync());
            }

            await using (var connection = new SqliteConnection($"Data Source={file};Pooling=false"))
            {
                await new Vivim.Storage.Schema.SchemaMigrator(Vivim.Storage.Schema.DatabaseKind.Sqlite, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance).MigrateAsync(connection);
            }

            var did = NewDid();
            var append = Batch(did, 1, 4, tag: "é 😀 ü");
            using var log = new SqliteUpdateLog(file);
            await log.AppendAsync(did, append);
            var packed = await log.ReadPackedAsync(did, 0, 10);
            Assert.Equal(append.Updates.Select(u => (u.Seq, u.Json)), packed.Updates.Select(u => (u.Seq, u.Json)));
            Assert.Equal(append.Updates.Select(u => System.Text.Encoding.UTF8.GetBytes(u.Json)), Enumerable.Range(0, packed.Updates.Count).Select(i => packed.Updates.Utf8(i).ToArray()));
        }
        finally
        {
            UpdateLogDatabases.DeleteSqlite(file);
        }
    }

    [Theory]
    [InlineData("find")]
    [InlineData("append")]
    public async Task Ids_are_looked_up_through_the_id_index_never_by_reading_the_DIDs_log(string statement)
    {
        // Finding a retry's update and an append's check that its ids are new each read the id index on the id's tail;
        // one that matched on the DID alone would read all of the DID's entries for every id.
        var did = NewDid();
        await Log.AppendAsync(did, Batch(did, 1, 50));
        await using var connection = new SqliteConnection($"Data Source={fixture.File};Mode=ReadOnly;Pooling=false");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        if (statement == "find")
        {
            command.CommandText = "EXPLAIN QUERY PLAN " + SqliteUpdateLog.FindSql;
            command.Parameters.AddWithValue("$ids", "[\"x\"]");
            command.Parameters.AddWithValue("$did", did);
        }
        else
        {
            command.CommandText = "EXPLAIN QUERY PLAN " + SqliteLogStatements.InsertUpdateSql;
            foreach (var (name, value) in new (string, object)[] { ("$id", 1L), ("$seq", 1L), ("$updateId", "x"), ("$hash", Array.Empty<byte>()), ("$root", Array.Empty<byte>()), ("$json", "{}") })
            {
                command.Parameters.AddWithValue(name, value);
            }
        }

        var plan = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                plan.Add(reader.GetString(3));
            }
        }

        var lookups = plan.Where(step => step.Contains("vivim_log_updates", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(lookups);
        Assert.All(lookups, step => Assert.Contains("USING INDEX vivim_log_updates_update_id_tail (did_id=? AND <expr>=?)", step, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Appends_of_many_DIDs_at_once_all_commit()
    {
        // The writer commits queued appends together; each must still land whole and be acknowledged.
        var dids = Enumerable.Range(0, 200).Select(_ => NewDid()).ToList();
        await Task.WhenAll(dids.Select(did => Task.Run(async () =>
        {
            for (var b = 0; b < 5; b++)
            {
                await Log.AppendAsync(did, Batch(did, 1 + (b * 3), 3));
            }
        })));

        foreach (var did in dids)
        {
            Assert.Equal(new LogBounds(1, 15), await Log.GetBoundsAsync(did));
            Assert.Equal(15, (await Log.ReadAsync(did, 0, 100)).Updates.Count);
        }
    }
}
