using Microsoft.Data.Sqlite;
using Vivim.Storage;
using Vivim.Storage.PostgreSql;
using Vivim.Storage.Sqlite;

namespace Vivim.Tests.Storage;

/// <summary>What every hosted-DID directory does, whatever stores it.</summary>
public abstract class HostedDidDirectoryConformance
{
    protected abstract IHostedDidDirectory Directory { get; }

    [Fact]
    public async Task Adding_is_idempotent_and_removing_forgets()
    {
        var did = NewDid();
        await Directory.AddAsync(did, "t1");
        await Directory.AddAsync(did, "t1");
        Assert.Single(await All(), d => d == did);
        Assert.True(await Directory.ContainsAsync(did));
        Assert.False(await Directory.ContainsAsync(did + "x"));

        await Directory.RemoveAsync(did);
        await Directory.RemoveAsync(did);
        Assert.DoesNotContain(did, await All());
        Assert.False(await Directory.ContainsAsync(did));
    }

    [Fact]
    public async Task Every_did_is_enumerated_once_in_ordinal_order_across_pages()
    {
        var dids = Enumerable.Range(0, 2_345).Select(_ => NewDid()).ToList();
        foreach (var batch in dids.Chunk(100))
        {
            await Task.WhenAll(batch.Select(d => Directory.AddAsync(d, "t2")));
        }

        var all = await All();
        Assert.Equal(all.Order(StringComparer.Ordinal), all);
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.Superset(dids.ToHashSet(), all.ToHashSet());

        var page = await Directory.ListAsync(dids.Order(StringComparer.Ordinal).First(), 7);
        Assert.Equal(7, page.Count);
        Assert.All(page, d => Assert.True(string.CompareOrdinal(d, dids.Min(StringComparer.Ordinal)) > 0));
    }

    [Fact]
    public async Task Empty_names_are_refused()
    {
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Directory.AddAsync(" ", "t"));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Directory.AddAsync(NewDid(), ""));
    }

    private async Task<List<string>> All()
    {
        var all = new List<string>();
        await foreach (var did in Directory.EnumerateAsync())
        {
            all.Add(did);
        }

        return all;
    }

    private static string NewDid() => "did:key:z6Mk" + Guid.NewGuid().ToString("N");
}

public sealed class HostedDidDirectoryInMemoryTests : HostedDidDirectoryConformance
{
    protected override IHostedDidDirectory Directory { get; } = new InMemoryHostedDidDirectory();
}

public sealed class HostedDidDirectorySqliteTests(SqliteLogFixture database) : HostedDidDirectoryConformance, IClassFixture<SqliteLogFixture>
{
    protected override IHostedDidDirectory Directory { get; } =
        new SqliteHostedDidDirectory(new SqliteConnectionStringBuilder { DataSource = database.File, DefaultTimeout = 30 }.ConnectionString);
}

public sealed class HostedDidDirectoryPostgreSqlTests(PostgresLogFixture database) : HostedDidDirectoryConformance, IClassFixture<PostgresLogFixture>
{
    protected override IHostedDidDirectory Directory { get; } = new PostgreSqlHostedDidDirectory(database.DataSource);
}

public sealed class HostedDidDirectoryAzureTests(AzureAccountFixture azure) : HostedDidDirectoryConformance, IClassFixture<AzureAccountFixture>
{
    protected override IHostedDidDirectory Directory { get; } =
        new Vivim.Storage.Azure.AzureTableHostedDidDirectory(azure.Table(Vivim.Hosting.AzureStorageAccount.HostedDidsTable));
}
