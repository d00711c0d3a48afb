using Microsoft.Data.Sqlite;

namespace Vivim.Storage.Sqlite;

/// <summary>The hosted-DID directory in the embedded node's SQLite file (migration <c>0005_hosted_dids</c>).</summary>
public sealed class SqliteHostedDidDirectory(string connectionString) : IHostedDidDirectory
{
    public async Task AddAsync(string did, string tenantId, CancellationToken cancellationToken = default)
    {
        HostedDidRules.Validate(did, tenantId);
        await ExecuteAsync("INSERT INTO vivim_hosted_dids (did, tenant_id) VALUES ($did, $tenant) ON CONFLICT (did) DO UPDATE SET tenant_id = excluded.tenant_id", cancellationToken, ("$did", did), ("$tenant", tenantId));
    }

    public Task RemoveAsync(string did, CancellationToken cancellationToken = default) =>
        ExecuteAsync("DELETE FROM vivim_hosted_dids WHERE did = $did", cancellationToken, ("$did", did ?? string.Empty));

    public async Task<bool> ContainsAsync(string did, CancellationToken cancellationToken = default)
    {
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM vivim_hosted_dids WHERE did = $did";
        command.Parameters.AddWithValue("$did", did ?? string.Empty);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    public async Task<IReadOnlyList<string>> ListAsync(string? afterDid, int limit, CancellationToken cancellationToken = default)
    {
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT did FROM vivim_hosted_dids WHERE did > $after ORDER BY did LIMIT $limit";
        command.Parameters.AddWithValue("$after", afterDid ?? string.Empty);
        command.Parameters.AddWithValue("$limit", HostedDidRules.Limit(limit));
        var page = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            page.Add(reader.GetString(0));
        }

        return page;
    }

    private async Task ExecuteAsync(string sql, CancellationToken cancellationToken, params (string Name, string Value)[] parameters)
    {
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        // Per connection, and these come from the pool that grain state shares: set it on each.
        command.CommandText = SqliteLogWriter.SecureDelete + ";" + sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
