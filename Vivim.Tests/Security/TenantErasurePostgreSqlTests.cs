using System.Globalization;
using System.Text;
using Npgsql;
using Vivim.Tests.Durability;
using Vivim.Tests.Support;

namespace Vivim.Tests.Security;

/// <summary>
/// A gateway on PostgreSQL: once <c>DELETE /v1/tenants/{id}</c> answered 204, no row of any table holds the tenant's
/// documents, ids or clone DIDs (as text, or UTF-8 inside binary grain state). What the server's files still hold is
/// the operator's part (docs/operations.md).
/// </summary>
public sealed class TenantErasurePostgreSqlTests : IAsyncLifetime
{
    private TestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await Postgres.CreateDatabaseAsync();

    public async Task DisposeAsync() => await _database.DisposeAsync();

    [Fact]
    public async Task A_deleted_tenant_leaves_no_row_in_any_table()
    {
        await using var cluster = new ClusterProcesses(_database.ConnectionString);
        var (code, output) = await cluster.MigrateAsync();
        Assert.True(code == 0, output);
        var gateway = cluster.StartGateway("gateway", out var baseAddress);
        await gateway.WaitStartedAsync(TimeSpan.FromSeconds(90));

        var deleted = await DeletedTenant.CreateAndDeleteAsync(baseAddress);

        Assert.Empty(await RowsHoldingAsync(deleted.Traces));
        Assert.NotEmpty(await RowsHoldingAsync([deleted.SurvivorMarker]));
    }

    /// <summary>"table: text" for every base table with a row whose text form holds a text, or its UTF-8 in hex (bytea).</summary>
    private async Task<List<string>> RowsHoldingAsync(IEnumerable<string> texts)
    {
        await using var connection = new NpgsqlConnection(_database.ConnectionString);
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand("SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')", connection))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }

        Assert.Contains(tables, t => t.EndsWith("vivim_grain_state", StringComparison.Ordinal));
        var found = new List<string>();
        foreach (var table in tables)
        {
            foreach (var text in texts)
            {
                await using var count = new NpgsqlCommand($"SELECT count(*) FROM {table} AS r WHERE strpos(r::text, $1) > 0 OR strpos(r::text, $2) > 0", connection);
                count.Parameters.AddWithValue(text);
                count.Parameters.AddWithValue(Convert.ToHexStringLower(Encoding.UTF8.GetBytes(text)));
                if (Convert.ToInt64(await count.ExecuteScalarAsync(), CultureInfo.InvariantCulture) > 0)
                {
                    found.Add($"{table}: {text}");
                }
            }
        }

        return found;
    }
}
