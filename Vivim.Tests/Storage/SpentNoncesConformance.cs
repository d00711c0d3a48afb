using Microsoft.Data.Sqlite;
using Vivim.Storage;
using Vivim.Storage.PostgreSql;
using Vivim.Storage.Sqlite;

namespace Vivim.Tests.Storage;

/// <summary>What every spent-nonce store does, whatever stores it: insert-if-absent, expiry, scopes, pruning, deletion.</summary>
public abstract class SpentNoncesConformance
{
    private const long T0 = 1_767_225_600_000;

    protected abstract ISpentNonces Nonces { get; }

    [Fact]
    public async Task A_nonce_is_spent_once_per_scope_until_it_expires()
    {
        var node = NewDid();
        var registrations = NonceScope.Registrations(node);
        var nonce = new string('n', NonceRules.MaxNonceLength);

        Assert.False(await Nonces.IsSpentAsync(registrations, nonce, T0));
        Assert.True(await Nonces.TrySpendAsync(registrations, nonce, T0, T0 + 600_000));
        Assert.False(await Nonces.TrySpendAsync(registrations, nonce, T0 + 1, T0 + 600_001));
        Assert.True(await Nonces.IsSpentAsync(registrations, nonce, T0 + 600_000));

        // Scopes are separate: the same value in a clone's scope or at another node is new there.
        Assert.True(await Nonces.TrySpendAsync(NonceScope.Requests(node, "clone-1"), nonce, T0, T0 + 300_000));
        Assert.True(await Nonces.TrySpendAsync(NonceScope.Registrations(NewDid()), nonce, T0, T0 + 600_000));

        // Past its expiry a row counts as absent even before it is pruned, and may be spent again.
        Assert.False(await Nonces.IsSpentAsync(registrations, nonce, T0 + 600_001));
        Assert.True(await Nonces.TrySpendAsync(registrations, nonce, T0 + 600_001, T0 + 1_200_001));
        Assert.False(await Nonces.TrySpendAsync(registrations, nonce, T0 + 700_000, T0 + 1_300_000));
    }

    [Fact]
    public async Task Of_concurrent_spends_of_one_nonce_exactly_one_wins()
    {
        var scope = NonceScope.Requests(NewDid(), "clone");
        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => Nonces.TrySpendAsync(scope, "contested", T0, T0 + 300_000))));
        Assert.Single(results, r => r);
    }

    [Fact]
    public async Task Pruning_deletes_expired_rows_in_bounded_batches_and_keeps_live_ones()
    {
        // Far in the past, so that the other tests' rows (sharing this database) are not expired at these times.
        const long Past = 1_000_000;
        var scope = NonceScope.Registrations(NewDid());
        for (var i = 0; i < 25; i++)
        {
            Assert.True(await Nonces.TrySpendAsync(scope, $"old-{i}", Past, Past + 10));
        }

        Assert.True(await Nonces.TrySpendAsync(scope, "live", Past, Past + 1_000));

        Assert.Equal(10, await Nonces.PruneAsync(Past + 11, 10));
        Assert.Equal(10, await Nonces.PruneAsync(Past + 11, 10));
        Assert.Equal(5, await Nonces.PruneAsync(Past + 11, 10));
        Assert.Equal(0, await Nonces.PruneAsync(Past + 11, 10));
        Assert.True(await Nonces.IsSpentAsync(scope, "live", Past + 11));
        Assert.True(await Nonces.TrySpendAsync(scope, "old-0", Past + 11, Past + 20)); // gone, so new again
    }

    [Fact]
    public async Task Forgetting_an_exit_node_deletes_its_registrations_and_its_clones_nonces_only()
    {
        var node = NewDid();
        var other = NewDid();
        await Nonces.TrySpendAsync(NonceScope.Registrations(node), "r", T0, T0 + 600_000);
        await Nonces.TrySpendAsync(NonceScope.Requests(node, "clone-a"), "q", T0, T0 + 300_000);
        await Nonces.TrySpendAsync(NonceScope.Registrations(other), "r", T0, T0 + 600_000);

        await Nonces.ForgetExitNodeAsync(node);

        Assert.False(await Nonces.IsSpentAsync(NonceScope.Registrations(node), "r", T0));
        Assert.False(await Nonces.IsSpentAsync(NonceScope.Requests(node, "clone-a"), "q", T0));
        Assert.True(await Nonces.IsSpentAsync(NonceScope.Registrations(other), "r", T0));
    }

    [Fact]
    public async Task Carrying_over_is_idempotent_and_keeps_the_later_expiry()
    {
        var scope = NonceScope.Registrations(NewDid());
        await Nonces.TrySpendAsync(scope, "a", T0, T0 + 1_000);
        SpentNonce[] legacy = [new("a", T0 + 5_000), new("b", T0 + 2_000)];
        await Nonces.CarryOverAsync(scope, legacy);
        await Nonces.CarryOverAsync(scope, legacy);
        await Nonces.CarryOverAsync(scope, []);

        Assert.True(await Nonces.IsSpentAsync(scope, "a", T0 + 5_000));
        Assert.True(await Nonces.IsSpentAsync(scope, "b", T0 + 2_000));
        Assert.False(await Nonces.IsSpentAsync(scope, "b", T0 + 2_001));
    }

    [Fact]
    public async Task Bad_nonces_and_scopes_are_refused()
    {
        var scope = NonceScope.Registrations(NewDid());
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Nonces.TrySpendAsync(scope, "", T0, T0));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Nonces.TrySpendAsync(scope, new string('n', NonceRules.MaxNonceLength + 1), T0, T0));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Nonces.TrySpendAsync(NonceScope.Registrations(""), "n", T0, T0));
    }

    private static string NewDid() => "did:key:z6Mk" + Guid.NewGuid().ToString("N");
}

public sealed class SpentNoncesInMemoryTests : SpentNoncesConformance
{
    protected override ISpentNonces Nonces { get; } = new InMemoryNonceLedger();
}

public sealed class SpentNoncesSqliteTests(SqliteLogFixture database) : SpentNoncesConformance, IClassFixture<SqliteLogFixture>
{
    protected override ISpentNonces Nonces { get; } =
        new SqliteNonceLedger(new SqliteConnectionStringBuilder { DataSource = database.File, DefaultTimeout = 30 }.ConnectionString);
}

/// <summary>The embedded node's arrangement: spends go through the update log's writer and its group commits.</summary>
public sealed class SpentNoncesSqliteSharedWriterTests(SqliteLogFixture database) : SpentNoncesConformance, IClassFixture<SqliteLogFixture>
{
    protected override ISpentNonces Nonces { get; } =
        new SqliteNonceLedger(new SqliteConnectionStringBuilder { DataSource = database.File, DefaultTimeout = 30 }.ConnectionString, database.Log);
}

public sealed class SpentNoncesPostgreSqlTests(PostgresLogFixture database) : SpentNoncesConformance, IClassFixture<PostgresLogFixture>
{
    protected override ISpentNonces Nonces { get; } = new PostgreSqlNonceLedger(database.DataSource);
}

public sealed class SpentNoncesAzureTests(AzureAccountFixture azure) : SpentNoncesConformance, IClassFixture<AzureAccountFixture>
{
    protected override ISpentNonces Nonces { get; } =
        new Vivim.Storage.Azure.AzureTableNonceLedger(azure.Table(Vivim.Hosting.AzureStorageAccount.SpentNoncesTable));
}
