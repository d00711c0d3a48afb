using Npgsql;

namespace Vivim.Storage.PostgreSql;

/// <summary>The connection pool that the update log, the hosted-DID directory and the nonce ledger share.</summary>
public static class PostgreSqlDataSource
{
    /// <summary>
    /// Their statements leave no session state behind (no SET, temporary table, advisory lock or LISTEN), so a
    /// connection going back to the pool is not reset: the reset is several statements the server parses and runs
    /// before every operation's own.
    /// </summary>
    public static NpgsqlDataSource Create(string connectionString) =>
        NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(connectionString) { NoResetOnClose = true }.ConnectionString);
}
