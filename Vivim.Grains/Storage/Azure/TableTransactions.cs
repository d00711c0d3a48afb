using System.Text;
using Azure.Data.Tables;

namespace Vivim.Storage.Azure;

/// <summary>
/// Azure's bounds on an entity-group transaction (100 entities, 4 MiB of request) and the estimate of what an
/// entity costs on the wire, so that a transaction is cut before the service would refuse it.
/// </summary>
internal static class TableTransactions
{
    public const int MaxActions = 100;

    /// <summary>
    /// Below the 4 MiB of one transaction's request, leaving room for the multipart framing of 100 operations
    /// (the estimate already counts binary as base64, as it travels).
    /// </summary>
    public const long MaxBytes = 3_600_000;

    /// <summary>An upper estimate of the entity's JSON in a request: binary as base64, strings with room for escapes.</summary>
    public static long EstimateBytes(TableEntity entity)
    {
        long bytes = 256 + (2 * (entity.PartitionKey.Length + entity.RowKey.Length));
        foreach (var (name, value) in entity)
        {
            bytes += 64 + name.Length + value switch
            {
                byte[] binary => (binary.Length + 2) / 3 * 4,
                string text => 2L * Encoding.UTF8.GetByteCount(text),
                _ => 32,
            };
        }

        return bytes;
    }

    /// <summary>
    /// Consecutive groups of at most <see cref="MaxActions"/> actions and <see cref="MaxBytes"/>, each starting with
    /// <paramref name="reserved"/> actions' worth of room (a head every group repeats).
    /// </summary>
    public static List<List<TableTransactionAction>> Group(IEnumerable<TableTransactionAction> actions, int reservedActions = 0, long reservedBytes = 0)
    {
        var groups = new List<List<TableTransactionAction>>();
        var current = new List<TableTransactionAction>();
        var bytes = reservedBytes;
        foreach (var action in actions)
        {
            var cost = EstimateBytes((TableEntity)action.Entity);
            if (current.Count > 0 && (current.Count + reservedActions >= MaxActions || bytes + cost > MaxBytes))
            {
                groups.Add(current);
                current = [];
                bytes = reservedBytes;
            }

            current.Add(action);
            bytes += cost;
        }

        if (current.Count > 0)
        {
            groups.Add(current);
        }

        return groups;
    }
}
