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
