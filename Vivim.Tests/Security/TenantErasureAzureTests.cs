using System.Text;
using Azure.Data.Tables;
using Vivim.Tests.Durability;
using Vivim.Tests.Support;

namespace Vivim.Tests.Security;

/// <summary>
/// A gateway on Azure Storage (the test Azurite, a table prefix of its own): once <c>DELETE /v1/tenants/{id}</c>
/// answered 204, no entity of any table and no blob holds the tenant's documents, ids or clone DIDs (as text, as hex, or
/// as UTF-8 inside binary properties and grain state). Azure has no VACUUM to run: a deleted entity or blob is gone from
/// every read; what the account's recovery features keep is the operator's part (docs/operations.md, "Azure Storage").
/// </summary>
public sealed class TenantErasureAzureTests
{
    [Fact]
    public async Task A_deleted_tenant_leaves_no_entity_and_no_blob()
    {
        await using var cluster = new ClusterProcesses(Azurite.ConnectionString, Vivim.Storage.Schema.DatabaseKind.Azure);
        var (code, output) = await cluster.MigrateAsync();
        Assert.True(code == 0, output);
        var gateway = cluster.StartGateway("gateway", out var baseAddress);
        await gateway.WaitStartedAsync(TimeSpan.FromSeconds(90));

        var deleted = await DeletedTenant.CreateAndDeleteAsync(baseAddress);

        Assert.Empty(await RecordsHoldingAsync(cluster, deleted.Traces));
        Assert.NotEmpty(await RecordsHoldingAsync(cluster, [deleted.SurvivorMarker]));
    }

    /// <summary>"table: text" or "container/blob: text" for every record under the cluster's prefix that holds a text.</summary>
    private static async Task<List<string>> RecordsHoldingAsync(ClusterProcesses cluster, IEnumerable<string> texts)
    {
        var account = cluster.Azure!;
        var wanted = texts.ToList();
        var found = new List<string>();
        foreach (var table in account.TableNames)
        {
            await foreach (var entity in account.Tables.GetTableClient(table).QueryAsync<TableEntity>())
            {
                var content = Text(entity);
                found.AddRange(wanted.Where(t => Holds(content, t)).Select(t => $"{table}: {t}"));
            }
        }

        foreach (var container in account.ContainerNames)
        {
            var blobs = account.Blobs.GetBlobContainerClient(container);
            await foreach (var blob in blobs.GetBlobsAsync())
            {
                var content = blob.Name + "\n" + Encoding.UTF8.GetString((await blobs.GetBlobClient(blob.Name).DownloadContentAsync()).Value.Content.ToArray());
                found.AddRange(wanted.Where(t => Holds(content, t)).Select(t => $"{container}/{blob.Name}: {t}"));
            }
        }

        return found;
    }

    /// <summary>An entity's keys and values as one text: binary values as UTF-8 (the state inside) and as hex.</summary>
    private static string Text(TableEntity entity)
    {
        var text = new StringBuilder();
        foreach (var (name, value) in entity)
        {
            text.Append(name).Append('=');
            text.Append(value switch
            {
                byte[] bytes => Encoding.UTF8.GetString(bytes) + " " + Convert.ToHexStringLower(bytes),
                BinaryData data => Encoding.UTF8.GetString(data.ToArray()) + " " + Convert.ToHexStringLower(data.ToArray()),
                _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture),
            }).Append('\n');
        }

        return text.ToString();
    }

    private static bool Holds(string content, string text) =>
        content.Contains(text, StringComparison.Ordinal)
        || content.Contains(Convert.ToHexStringLower(Encoding.UTF8.GetBytes(text)), StringComparison.OrdinalIgnoreCase);
}
