using Microsoft.Data.Sqlite;

namespace Vivim.Storage.Sqlite;

/// <summary>
/// Spent nonces in the embedded node's SQLite file (migration <c>0006_spent_nonces</c>): one keyed row per nonce, each
/// spend one small transaction whatever the table holds. Given the update log of the same file, spends go through its
/// writer and share its group commits: SQLite has one writer, and a clone's signed write spends a nonce every request.
/// </summary>
public sealed class SqliteNonceLedger(string connectionString, SqliteUpdateLog? log = null) : ISpentNonces
{
    // An expired row is taken over in place: the spend is new, though the pruner has not reached the row yet.
    internal const string SpendSql = """
        INSERT INTO vivim_spent_nonces (exit_node_did, clone_id, nonce, expires_at) VALUES ($did, $clone, $nonce, $expires)
        ON CONFLICT (exit_node_did, clone_id, nonce) DO UPDATE SET expires_at = excluded.expires_at
        WHERE vivim_spent_nonces.expires_at < $now
        """;

    private const string CarrySql = """
        INSERT INTO vivim_spent_nonces (exit_node_did, clone_id, nonce, expires_at) VALUES ($did, $clone, $nonce, $expires)
        ON CONFLICT (exit_node_did, clone_id, nonce) DO UPDATE SET expires_at = max(vivim_spent_nonces.expires_at, excluded.expires_at)
        """;

    public async Task<bool> IsSpentAsync(NonceScope scope, string nonce, long nowMs, CancellationToken cancellationToken = default)
    {
        NonceRules.Validate(scope, nonce);
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM vivim_spent_nonces WHERE exit_node_did = $did AND clone_id = $clone AND nonce = $nonce AND expires_at >= $now";
        Bind(command, scope, nonce);
        command.Parameters.AddWithValue("$now", nowMs);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    public async Task<bool> TrySpendAsync(NonceScope scope, string nonce, long nowMs, long expiresAtMs, CancellationToken cancellationToken = default)
    {
        NonceRules.Validate(scope, nonce);
        if (log is not null)
        {
            return await log.SpendNonceAsync(scope, nonce, nowMs, expiresAtMs, cancellationToken);
        }

        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = SpendSql;
        Bind(command, scope, nonce);
        command.Parameters.AddWithValue("$expires", expiresAtMs);
        command.Parameters.AddWithValue("$now", nowMs);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task CarryOverAsync(NonceScope scope, IReadOnlyCollection<SpentNonce> nonces, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(nonces);
        foreach (var spent in nonces)
        {
            NonceRules.Validate(scope, spent.Nonce);
        }

        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = CarrySql;
        var did = command.Parameters.AddWithValue("$did", scope.ExitNodeDid);
        var clone = command.Parameters.AddWithValue("$clone", scope.CloneId);
        var nonce = command.Parameters.AddWithValue("$nonce", string.Empty);
        var expires = command.Parameters.AddWithValue("$expires", 0L);
        foreach (var spent in nonces)
        {
            nonce.Value = spent.Nonce;
            expires.Value = spent.ExpiresAtMs;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<int> PruneAsync(long nowMs, int maxRows, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            DELETE FROM vivim_spent_nonces
            WHERE rowid IN (SELECT rowid FROM vivim_spent_nonces WHERE expires_at < $now ORDER BY expires_at LIMIT $limit)
            """;
        command.Parameters.AddWithValue("$now", nowMs);
        command.Parameters.AddWithValue("$limit", NonceRules.Limit(maxRows));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task ForgetExitNodeAsync(string exitNodeDid, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM vivim_spent_nonces WHERE exit_node_did = $did";
        command.Parameters.AddWithValue("$did", exitNodeDid ?? string.Empty);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);

            // A spent nonce must survive a power loss like the log does (a pooled connection keeps the settings). A
            // spend meets the log writer's lock on every clone write: SQLite's busy handler waits in steps of a few
            // milliseconds, where Microsoft.Data.Sqlite's own retry sleeps 150 ms (it set clone writes' latency).
            await using var durable = connection.CreateCommand();
            durable.CommandText = "PRAGMA synchronous = FULL; " + SqliteLogWriter.BusyTimeout;
            await durable.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static void Bind(SqliteCommand command, NonceScope scope, string nonce)
    {
        command.Parameters.AddWithValue("$did", scope.ExitNodeDid);
        command.Parameters.AddWithValue("$clone", scope.CloneId);
        command.Parameters.AddWithValue("$nonce", nonce);
    }
}
