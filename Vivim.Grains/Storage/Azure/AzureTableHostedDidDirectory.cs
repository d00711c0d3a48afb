using Azure;
using Azure.Data.Tables;

namespace Vivim.Storage.Azure;

/// <summary>
/// The hosted-DID directory in Azure Table storage: one entity per DID in a single partition, its RowKey the DID's
/// order-preserving key (<see cref="AzureTableKey"/>), so a page is one range scan in DID order. Exit nodes are created
/// and deleted rarely, far below a partition's 2,000 entities/s.
/// </summary>
public sealed class AzureTableHostedDidDirectory(TableClient table) : IHostedDidDirectory
{
    private const string Partition = "did";

    public async Task AddAsync(string did, string tenantId, CancellationToken cancellationToken = default)
    {
        HostedDidRules.Validate(did, tenantId);
        var entity = new TableEntity(Partition, AzureTableKey.Encode(did, nameof(did))) { ["Did"] = did, ["TenantId"] = tenantId };
        await table.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
    }

    public async Task RemoveAsync(string did, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(did) || System.Text.Encoding.UTF8.GetByteCount(did) > AzureTableKey.MaxTextBytes)
        {
            return;
        }

        // Absent or already deleted: a 404 is not an error here (the SDK turns it into a plain response).
        await table.DeleteEntityAsync(Partition, AzureTableKey.Encode(did), ETag.All, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> ContainsAsync(string did, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(did) || System.Text.Encoding.UTF8.GetByteCount(did) > AzureTableKey.MaxTextBytes)
        {
            return false;
        }

        var found = await table.GetEntityIfExistsAsync<TableEntity>(Partition, AzureTableKey.Encode(did), ["RowKey"], cancellationToken).ConfigureAwait(false);
        return found.HasValue;
    }

    public async Task<IReadOnlyList<string>> ListAsync(string? afterDid, int limit, CancellationToken cancellationToken = default)
    {
        var take = HostedDidRules.Limit(limit);
        var after = AzureTableKey.Encode(afterDid ?? string.Empty);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {Partition} and RowKey gt {after}");
        var page = new List<string>(Math.Min(take, 1000));
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, maxPerPage: Math.Min(take, 1000), select: ["Did"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            page.Add(entity.GetString("Did"));
            if (page.Count == take)
            {
                break;
            }
        }

        return page;
    }
}
