using System.Data.Common;
using Npgsql;
using Vivim.Hosting;
using Vivim.Storage.PostgreSql;
using Vivim.Storage.Schema;
using Vivim.Storage.Sqlite;

namespace Vivim.Storage.Copy;

/// <summary>
/// A stopped deployment's database (PostgreSQL, or the embedded node's SQLite file) as <c>copy-storage</c> reads it:
/// its update log through its own <see cref="IUpdateLog"/>, everything else by listing its tables.
/// </summary>
public sealed class DatabaseSource : IAsyncDisposable
{
    private readonly StorageLocation _location;
    private readonly NpgsqlDataSource? _postgres;

    public DatabaseSource(StorageLocation location)
    {
        _location = location;
        if (location.Provider == DatabaseKind.PostgreSql)
        {
            _postgres = NpgsqlDataSource.Create(location.ConnectionString);
            Log = new PostgreSqlUpdateLog(_postgres);
        }
        else
        {
            Log = new SqliteUpdateLog(location.ConnectionString);
        }
    }

    public IUpdateLog Log { get; }

    public DatabaseKind Provider => _location.Provider;

    /// <summary>Every DID with a log here, in ordinal order.</summary>
    public Task<List<string>> ListLogDidsAsync(CancellationToken cancellationToken) =>
        QueryAsync("SELECT did FROM vivim_log_heads", r => r.GetString(0), cancellationToken, sortBy: d => d);

    public Task<List<(string Did, string TenantId)>> ListHostedDidsAsync(CancellationToken cancellationToken) =>
        QueryAsync("SELECT did, tenant_id FROM vivim_hosted_dids", r => (r.GetString(0), r.GetString(1)), cancellationToken, sortBy: h => h.Item1);

    /// <summary>Nonces still spent at <paramref name="nowMs"/> (expired ones count as absent anyway), by scope.</summary>
    public async Task<Dictionary<NonceScope, List<SpentNonce>>> ListSpentNoncesAsync(long nowMs, CancellationToken cancellationToken)
    {
        var rows = await QueryAsync(
            "SELECT exit_node_did, clone_id, nonce, expires_at FROM vivim_spent_nonces WHERE expires_at > @now",
            r => (Scope: new NonceScope(r.GetString(0), r.GetString(1)), Nonce: new SpentNonce(r.GetString(2), r.GetInt64(3))),
            cancellationToken, ("now", nowMs)).ConfigureAwait(false);
        return rows.GroupBy(r => r.Scope).ToDictionary(g => g.Key, g => g.Select(r => r.Nonce).ToList());
    }

    /// <summary>Every grain state record with a payload under <paramref name="serviceId"/> (cleared records have none).</summary>
    public Task<List<(string StateName, string? Key, byte[] Payload)>> ListGrainStatesAsync(string serviceId, CancellationToken cancellationToken) =>
        QueryAsync(
            "SELECT state_name, grain_id_extension, payload FROM vivim_grain_state WHERE service_id = @service AND payload IS NOT NULL",
            r => (r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1), (byte[])r[2]),
            cancellationToken, ("service", serviceId));

    /// <summary>The gateway silos' sealed libp2p identities (PostgreSQL only; the embedded node keeps its own in a file).</summary>
    public async Task<List<(string SiloName, string PeerId, string KekId, byte[] Nonce, byte[] Ciphertext)>> ListPeerIdentitiesAsync(CancellationToken cancellationToken) =>
        Provider != DatabaseKind.PostgreSql
            ? []
            : await QueryAsync(
                "SELECT silo_name, peer_id, kek_id, nonce, ciphertext FROM vivim_p2p_identities",
                r => (r.GetString(0), r.GetString(1), r.GetString(2), (byte[])r[3], (byte[])r[4]),
                cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Silos of any cluster on this database that still count as running: joining, active or stopping, with an "I am
    /// alive" of the last <paramref name="window"/> (a silo that crashed stays active in the table; its heartbeat ages).
    /// </summary>
    public async Task<List<string>> ListLiveMembersAsync(TimeSpan window, CancellationToken cancellationToken) =>
        Provider != DatabaseKind.PostgreSql
            ? []
            : await QueryAsync(
                "SELECT cluster_id, silo_name, address, port FROM vivim_cluster_members WHERE status BETWEEN 1 AND 5 AND i_am_alive_time > @since",
                r => $"{r.GetString(1)} ({r.GetString(2)}:{r.GetInt32(3)}, cluster {r.GetString(0)})",
                cancellationToken, ("since", DateTime.UtcNow - window)).ConfigureAwait(false);

    public async ValueTask DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync().ConfigureAwait(false);
        }

        (Log as IDisposable)?.Dispose();
    }

    private async Task<List<T>> QueryAsync<T>(string sql, Func<DbDataReader, T> read, CancellationToken cancellationToken, params (string Name, object Value)[] parameters) =>
        await QueryAsync(sql, read, cancellationToken, null, parameters).ConfigureAwait(false);

    private async Task<List<T>> QueryAsync<T>(string sql, Func<DbDataReader, T> read, CancellationToken cancellationToken, Func<T, string>? sortBy, params (string Name, object Value)[] parameters)
    {
        await using var connection = _location.CreateConnection();
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }

        var rows = new List<T>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(read(reader));
        }

        if (sortBy is not null)
        {
            rows.Sort((a, b) => string.CompareOrdinal(sortBy(a), sortBy(b)));
        }

        return rows;
    }
}
