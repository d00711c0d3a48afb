using Npgsql;
using NpgsqlTypes;

namespace Vivim.Storage.PostgreSql;

/// <summary>
/// Spent nonces in PostgreSQL (migration <c>0006_spent_nonces</c>), shared by every silo and gateway: one keyed row
/// per nonce, each spend one statement whatever the table holds. The unique key decides between concurrent spends.
/// </summary>
public sealed class PostgreSqlNonceLedger(NpgsqlDataSource dataSource) : ISpentNonces
{
    // An expired row is taken over in place: the spend is new, though the pruner has not reached the row yet.
    private const string SpendSql = """
        INSERT INTO vivim_spent_nonces (exit_node_did, clone_id, nonce, expires_at) VALUES ($1, $2, $3, $4)
        ON CONFLICT (exit_node_did, clone_id, nonce) DO UPDATE SET expires_at = excluded.expires_at
        WHERE vivim_spent_nonces.expires_at < $5
        """;

    private const string CarrySql = """
        INSERT INTO vivim_spent_nonces (exit_node_did, clone_id, nonce, expires_at)
        SELECT $1, $2, n.nonce, n.expires_at FROM unnest($3::text[], $4::bigint[]) AS n(nonce, expires_at)
        ON CONFLICT (exit_node_did, clone_id, nonce) DO UPDATE SET expires_at = greatest(vivim_spent_nonces.expires_at, excluded.expires_at)
        """;

    // Both conditions again outside: a row re-spent meanwhile has a new version and a new expiry, and stays.
    private const string PruneSql = """
        DELETE FROM vivim_spent_nonces
        WHERE ctid IN (SELECT ctid FROM vivim_spent_nonces WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)
          AND expires_at < $1
        """;

    public async Task<bool> IsSpentAsync(NonceScope scope, string nonce, long nowMs, CancellationToken cancellationToken = default)
    {
        NonceRules.Validate(scope, nonce);
        await using var command = dataSource.CreateCommand("SELECT 1 FROM vivim_spent_nonces WHERE exit_node_did = $1 AND clone_id = $2 AND nonce = $3 AND expires_at >= $4");
        Bind(command, scope, nonce);
        command.Parameters.Add(new NpgsqlParameter { Value = nowMs });
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    public async Task<bool> TrySpendAsync(NonceScope scope, string nonce, long nowMs, long expiresAtMs, CancellationToken cancellationToken = default)
    {
        NonceRules.Validate(scope, nonce);
        await using var command = dataSource.CreateCommand(SpendSql);
        Bind(command, scope, nonce);
        command.Parameters.Add(new NpgsqlParameter { Value = expiresAtMs });
        command.Parameters.Add(new NpgsqlParameter { Value = nowMs });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task CarryOverAsync(NonceScope scope, IReadOnlyCollection<SpentNonce> nonces, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(nonces);
        foreach (var spent in nonces)
        {
            NonceRules.Validate(scope, spent.Nonce);
        }

        if (nonces.Count == 0)
        {
            return;
        }

        // One statement: the whole carry-over is atomic without a transaction of its own.
        await using var command = dataSource.CreateCommand(CarrySql);
        command.Parameters.Add(new NpgsqlParameter { Value = scope.ExitNodeDid });
        command.Parameters.Add(new NpgsqlParameter { Value = scope.CloneId });
        command.Parameters.Add(new NpgsqlParameter { Value = nonces.Select(n => n.Nonce).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = nonces.Select(n => n.ExpiresAtMs).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<int> PruneAsync(long nowMs, int maxRows, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(PruneSql);
        command.Parameters.Add(new NpgsqlParameter { Value = nowMs });
        command.Parameters.Add(new NpgsqlParameter { Value = NonceRules.Limit(maxRows) });
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task ForgetExitNodeAsync(string exitNodeDid, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM vivim_spent_nonces WHERE exit_node_did = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = exitNodeDid ?? string.Empty });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void Bind(NpgsqlCommand command, NonceScope scope, string nonce)
    {
        command.Parameters.Add(new NpgsqlParameter { Value = scope.ExitNodeDid });
        command.Parameters.Add(new NpgsqlParameter { Value = scope.CloneId });
        command.Parameters.Add(new NpgsqlParameter { Value = nonce });
    }
}
