using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;

namespace Vivim.Storage.Azure;

/// <summary>
/// Spent nonces in Azure Table storage, shared by every silo and gateway: one partition per exit node (so forgetting
/// a node is one partition's rows), one entity per nonce keyed by a hash of its scope and value (fixed length, whatever
/// the nonce holds). A spend is an insert, which Table storage refuses when the entity exists; an expired entity is
/// taken over by a replace conditioned on its ETag, so of two concurrent spends exactly one wins. Table storage has no
/// secondary index: pruning finds expired entities with a filtered scan, which stays small because every entity expires
/// within minutes of its spend (docs/operations.md, "Azure Storage").
/// </summary>
public sealed class AzureTableNonceLedger(TableClient table) : ISpentNonces
{
    private const string ExpiresAt = "ExpiresAt";

    /// <summary>Entity-group transactions hold at most 100 operations.</summary>
    private const int MaxTransaction = 100;

    public async Task<bool> IsSpentAsync(NonceScope scope, string nonce, long nowMs, CancellationToken cancellationToken = default)
    {
        NonceRules.Validate(scope, nonce);
        var found = await table.GetEntityIfExistsAsync<TableEntity>(Partition(scope.ExitNodeDid), Row(scope, nonce), [ExpiresAt], cancellationToken).ConfigureAwait(false);
        return found.HasValue && found.Value!.GetInt64(ExpiresAt) >= nowMs;
    }

    public async Task<bool> TrySpendAsync(NonceScope scope, string nonce, long nowMs, long expiresAtMs, CancellationToken cancellationToken = default)
    {
        NonceRules.Validate(scope, nonce);
        var entity = Entity(scope, nonce, expiresAtMs);

        // Each round either decides or saw the entity vanish under a prune; three rounds settle any realistic race.
        for (var round = 0; round < 3; round++)
        {
            try
            {
                await table.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (RequestFailedException e) when (e.Status == 409)
            {
            }

            var existing = await table.GetEntityIfExistsAsync<TableEntity>(entity.PartitionKey, entity.RowKey, [ExpiresAt], cancellationToken).ConfigureAwait(false);
            if (!existing.HasValue)
            {
                continue;
            }

            if (existing.Value!.GetInt64(ExpiresAt) >= nowMs)
            {
                return false;
            }

            try
            {
                await table.UpdateEntityAsync(entity, existing.Value.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (RequestFailedException e) when (e.Status == 412)
            {
                return false; // another spend took the expired entity over first
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
            }
        }

        return false;
    }

    public async Task CarryOverAsync(NonceScope scope, IReadOnlyCollection<SpentNonce> nonces, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(nonces);
        foreach (var spent in nonces)
        {
            NonceRules.Validate(scope, spent.Nonce);
        }

        // One transaction per 100 nonces (Table storage's bound): each is all or nothing, and repeating one changes
        // nothing, so a carry-over cut short is completed by the next activation's.
        foreach (var chunk in nonces.DistinctBy(n => n.Nonce, StringComparer.Ordinal).Chunk(MaxTransaction))
        {
            for (var attempt = 1; ; attempt++)
            {
                var actions = new List<TableTransactionAction>(chunk.Length);
                foreach (var spent in chunk)
                {
                    var entity = Entity(scope, spent.Nonce, spent.ExpiresAtMs);
                    var existing = await table.GetEntityIfExistsAsync<TableEntity>(entity.PartitionKey, entity.RowKey, [ExpiresAt], cancellationToken).ConfigureAwait(false);
                    if (!existing.HasValue)
                    {
                        actions.Add(new TableTransactionAction(TableTransactionActionType.Add, entity));
                    }
                    else if (existing.Value!.GetInt64(ExpiresAt) < spent.ExpiresAtMs)
                    {
                        actions.Add(new TableTransactionAction(TableTransactionActionType.UpdateReplace, entity, existing.Value.ETag));
                    }
                }

                if (actions.Count == 0)
                {
                    break;
                }

                try
                {
                    await table.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
                    break;
                }
                catch (TableTransactionFailedException) when (attempt < 5)
                {
                    // A concurrent spend or prune changed one of these entities: read again and retry.
                }
            }
        }
    }

    public async Task<int> PruneAsync(long nowMs, int maxRows, CancellationToken cancellationToken = default)
    {
        var take = NonceRules.Limit(maxRows);
        var expired = new List<TableEntity>(Math.Min(take, 1000));
        var filter = TableClient.CreateQueryFilter($"ExpiresAt lt {nowMs}");
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, maxPerPage: Math.Min(take, 1000), select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            expired.Add(entity);
            if (expired.Count == take)
            {
                break;
            }
        }

        // Each delete is conditioned on the ETag that was read: an entity spent again meanwhile has a new one, and stays.
        return await DeleteAsync(expired, cancellationToken).ConfigureAwait(false);
    }

    public async Task ForgetExitNodeAsync(string exitNodeDid, CancellationToken cancellationToken = default)
    {
        var partition = Partition(exitNodeDid ?? string.Empty);
        while (true)
        {
            var rows = new List<TableEntity>();
            await foreach (var entity in table.QueryAsync<TableEntity>(e => e.PartitionKey == partition, maxPerPage: 1000, select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                rows.Add(entity);
                if (rows.Count == 1000)
                {
                    break;
                }
            }

            if (rows.Count == 0)
            {
                return;
            }

            foreach (var row in rows)
            {
                row.ETag = ETag.All;
            }

            await DeleteAsync(rows, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes the entities (each on its ETag) in per-partition transactions; returns how many it deleted.</summary>
    private async Task<int> DeleteAsync(List<TableEntity> entities, CancellationToken cancellationToken)
    {
        var deleted = 0;
        foreach (var partition in entities.GroupBy(e => e.PartitionKey, StringComparer.Ordinal))
        {
            foreach (var chunk in partition.Chunk(MaxTransaction))
            {
                try
                {
                    await table.SubmitTransactionAsync(chunk.Select(e => new TableTransactionAction(TableTransactionActionType.Delete, e, e.ETag)), cancellationToken).ConfigureAwait(false);
                    deleted += chunk.Length;
                }
                catch (TableTransactionFailedException)
                {
                    // One entity was spent again or deleted meanwhile, which fails the whole group: one by one then.
                    foreach (var entity in chunk)
                    {
                        try
                        {
                            // A missing entity is answered with a 404 response, not an exception.
                            var response = await table.DeleteEntityAsync(entity.PartitionKey, entity.RowKey, entity.ETag, cancellationToken).ConfigureAwait(false);
                            deleted += response.Status == 404 ? 0 : 1;
                        }
                        catch (RequestFailedException e) when (e.Status is 404 or 412)
                        {
                        }
                    }
                }
            }
        }

        return deleted;
    }

    private static TableEntity Entity(NonceScope scope, string nonce, long expiresAtMs) =>
        new(Partition(scope.ExitNodeDid), Row(scope, nonce)) { [ExpiresAt] = expiresAtMs };

    private static string Partition(string exitNodeDid) => Hash(exitNodeDid);

    private static string Row(NonceScope scope, string nonce) => Hash($"{scope.CloneId.Length}:{scope.CloneId}{nonce}");

    // Fixed-length keys that never hold a character Table storage refuses; collisions are out of reach.
    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
