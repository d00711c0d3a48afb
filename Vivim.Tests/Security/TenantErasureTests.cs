using System.Globalization;
using Microsoft.Data.Sqlite;
using Vivim.Tests.Support;

namespace Vivim.Tests.Security;

/// <summary>
/// The embedded node (a Vivim.Gateway process on SQLite): once <c>DELETE /v1/tenants/{id}</c> answered 204, no byte of
/// the data directory holds the tenant's documents, ids or clone DIDs (not in free pages, not in the WAL), and no row
/// is keyed by them; the other tenant's data is still there.
/// </summary>
public sealed class TenantErasureTests
{
    [Fact]
    public async Task A_deleted_tenant_leaves_no_trace_in_the_embedded_node_files()
    {
        var data = Path.Combine(Path.GetTempPath(), "vivim-erasure-" + Guid.NewGuid().ToString("N")[..12]);
        var baseAddress = new Uri("http://127.0.0.1:" + FreePort.Next().ToString(CultureInfo.InvariantCulture));
        string[] arguments =
        [
            "--urls", baseAddress.ToString(),
            "--Vivim:DataPath", data,
            "--Vivim:SiloPort", FreePort.Next().ToString(CultureInfo.InvariantCulture),
            "--Vivim:GatewayPort", FreePort.Next().ToString(CultureInfo.InvariantCulture),
        ];
        try
        {
            await using var node = HostProcess.Start("Vivim.Gateway", arguments, name: "gateway");
            await node.WaitStartedAsync(TimeSpan.FromSeconds(90));
            var deleted = await DeletedTenant.CreateAndDeleteAsync(baseAddress);

            // While the node still runs: the answer came after the scrub, so the files (WAL included) are clean now.
            Assert.Empty(DeletedTenant.FindInFiles(data, deleted.Traces));

            await node.TerminateAsync();
            Assert.Equal(0, await node.WaitForExitAsync(TimeSpan.FromSeconds(60)));

            Assert.Empty(DeletedTenant.FindInFiles(data, deleted.Traces));
            Assert.Contains(DeletedTenant.FindInFiles(data, [deleted.SurvivorMarker]), f => f.StartsWith("vivim.db:", StringComparison.Ordinal));
            await using var database = new SqliteConnection($"Data Source={Path.Combine(data, "vivim.db")};Mode=ReadOnly;Pooling=False");
            await database.OpenAsync();
            foreach (var key in deleted.GrainKeys)
            {
                Assert.Equal(0L, await CountAsync(database, "SELECT count(*) FROM vivim_grain_state WHERE grain_id_extension = $key", key));
            }

            Assert.Equal(0L, await CountAsync(database, "SELECT count(*) FROM vivim_log_heads WHERE did = $key", deleted.ExitNodeDid));
            Assert.Equal(0L, await CountAsync(database, "SELECT count(*) FROM vivim_hosted_dids WHERE did = $key", deleted.ExitNodeDid));
            Assert.Equal(0L, await CountAsync(database, "SELECT count(*) FROM vivim_hosted_dids WHERE tenant_id = $key", deleted.TenantId));
            Assert.Equal(0L, await CountAsync(database, "SELECT count(*) FROM vivim_grain_state WHERE payload IS NULL", string.Empty));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(data, recursive: true);
        }
    }

    private static async Task<long> CountAsync(SqliteConnection connection, string sql, string key)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$key", key);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }
}
