using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Vivim.Storage;
using Vivim.Storage.Sqlite;
using Vivim.Tests.Support;

namespace Vivim.Tests.Storage;

/// <summary>The silo's pruner on a real SQLite file: expired nonces go in bounded rounds on its own clock, live ones stay.</summary>
public sealed class NoncePrunerTests(SqliteLogFixture database) : IClassFixture<SqliteLogFixture>
{
    [Fact]
    public async Task Expired_nonces_are_pruned_each_interval_in_bounded_batches()
    {
        var ledger = new SqliteNonceLedger(new SqliteConnectionStringBuilder { DataSource = database.File, DefaultTimeout = 30 }.ConnectionString);
        var clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_767_225_600_000));
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var scope = NonceScope.Registrations("did:key:z6Mk" + Guid.NewGuid().ToString("N"));
        for (var i = 0; i < 30; i++)
        {
            Assert.True(await ledger.TrySpendAsync(scope, $"n{i}", now, now + 60_000));
        }

        Assert.True(await ledger.TrySpendAsync(scope, "live", now, now + 600_000));
        var options = Options.Create(new NonceLedgerOptions { PruneInterval = TimeSpan.FromMinutes(1), PruneBatchSize = 4, MaxBatchesPerRound = 5 });
        using var pruner = new NoncePruner(ledger, clock, options, NullLogger<NoncePruner>.Instance);

        // Nothing has expired yet.
        Assert.Equal(0, await pruner.PruneOnceAsync());

        // A round deletes at most batch size × batches; the next round takes the rest.
        clock.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(20, await pruner.PruneOnceAsync());
        Assert.Equal(10, await pruner.PruneOnceAsync());
        Assert.Equal(1, await Count(scope.ExitNodeDid));
        Assert.True(await ledger.IsSpentAsync(scope, "live", clock.GetUtcNow().ToUnixTimeMilliseconds()));

        // Running as the silo runs it: a round per interval of its clock. ExecuteAsync starts on a thread of its own, so
        // the clock moves an interval at a time until a round has run.
        clock.Advance(TimeSpan.FromMinutes(10));
        await pruner.StartAsync(CancellationToken.None);
        await Until.TrueAsync(
            async () =>
            {
                clock.Advance(TimeSpan.FromMinutes(1));
                return await Count(scope.ExitNodeDid) == 0;
            },
            () => "the pruner did not delete the expired nonce");
        await pruner.StopAsync(CancellationToken.None);
    }

    private async Task<long> Count(string exitNodeDid)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database.File }.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM vivim_spent_nonces WHERE exit_node_did = $did";
        command.Parameters.AddWithValue("$did", exitNodeDid);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
