using Npgsql;

namespace Vivim.Storage.PostgreSql;

/// <summary>The hosted-DID directory in PostgreSQL (migration <c>0004_hosted_dids</c>): one row per hosted DID.</summary>
public sealed class PostgreSqlHostedDidDirectory(NpgsqlDataSource dataSource) : IHostedDidDirectory
{
    public async Task AddAsync(string did, string tenantId, CancellationToken cancellationToken = default)
    {
        HostedDidRules.Validate(did, tenantId);
        await using var command = dataSource.CreateCommand("INSERT INTO vivim_hosted_dids (did, tenant_id) VALUES ($1, $2) ON CONFLICT (did) DO UPDATE SET tenant_id = excluded.tenant_id");
        command.Parameters.Add(new NpgsqlParameter { Value = did });
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task RemoveAsync(string did, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM vivim_hosted_dids WHERE did = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = did ?? string.Empty });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<bool> ContainsAsync(string did, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("SELECT 1 FROM vivim_hosted_dids WHERE did = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = did ?? string.Empty });
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    public async Task<IReadOnlyList<string>> ListAsync(string? afterDid, int limit, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("SELECT did FROM vivim_hosted_dids WHERE did > $1 ORDER BY did LIMIT $2");
        command.Parameters.Add(new NpgsqlParameter { Value = afterDid ?? string.Empty });
        command.Parameters.Add(new NpgsqlParameter { Value = HostedDidRules.Limit(limit) });
        var page = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            page.Add(reader.GetString(0));
        }

        return page;
    }
}
