using Microsoft.Extensions.Logging.Abstractions;
using Vivim.Storage.Schema;
using Vivim.Tests.Support;

namespace Vivim.Tests.Storage;

public sealed class SchemaMigratorTests
{
    // What Orleans 10.4.2's ADO.NET providers look up in OrleansQuery (CleanupDefunctSiloEntryKey and DeleteStorageKey
    // are optional to them; we provide both).
    private static readonly string[] GrainStorageQueries = ["ReadFromStorageKey", "WriteToStorageKey", "ClearStorageKey", "DeleteStorageKey"];

    private static readonly string[] ClusteringQueries =
    [
        "GatewaysQueryKey", "MembershipReadRowKey", "MembershipReadAllKey", "InsertMembershipVersionKey", "UpdateIAmAlivetimeKey",
        "InsertMembershipKey", "UpdateMembershipKey", "DeleteMembershipTableEntriesKey", "CleanupDefunctSiloEntriesKey", "CleanupDefunctSiloEntryKey",
    ];

    private static readonly string[] ReminderQueries =
    [
        "ReadReminderRowsKey", "ReadRangeRows1Key", "ReadRangeRows2Key", "ReadReminderRowKey", "UpsertReminderRowKey", "DeleteReminderRowKey",
        "DeleteReminderRowsKey",
    ];

    [Fact]
    public async Task A_PostgreSQL_database_is_migrated_once_and_a_second_run_applies_nothing()
    {
        await using var database = new PostgresTestDatabase(await Postgres.CreateDatabaseAsync());

        var first = await database.MigrateAsync();
        var second = await database.MigrateAsync();

        Assert.Equal(Migration.For(DatabaseKind.PostgreSql).Select(m => m.Version), first.Applied.Select(m => m.Version));
        Assert.Empty(second.Applied);
        Assert.Equal(first.CurrentVersion, second.CurrentVersion);
        Assert.Equal(
            GrainStorageQueries.Concat(ClusteringQueries).Concat(ReminderQueries).Order(StringComparer.Ordinal),
            await QueryKeysAsync(database));
    }

    [Fact]
    public async Task Concurrent_runs_on_one_PostgreSQL_database_all_succeed_and_apply_each_migration_once()
    {
        await using var database = new PostgresTestDatabase(await Postgres.CreateDatabaseAsync());
        var migrations = Migration.For(DatabaseKind.PostgreSql);

        var reports = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(database.MigrateAsync)));

        Assert.Equal(migrations.Count, reports.Sum(r => r.Applied.Count));
        Assert.Single(reports, r => r.Applied.Count > 0);
        Assert.Equal((long)migrations.Count, Convert.ToInt64(await database.ScalarAsync("SELECT count(*) FROM vivim_schema_migrations")));
    }

    [Fact]
    public async Task An_applied_migration_that_changed_is_refused()
    {
        await using var database = new PostgresTestDatabase(await Postgres.CreateDatabaseAsync());
        await database.MigrateAsync();
        await database.ScalarAsync("UPDATE vivim_schema_migrations SET checksum = 'edited' WHERE version = 1");

        var drift = await Assert.ThrowsAsync<SchemaDriftException>(database.MigrateAsync);

        Assert.Contains("Migration 1 (orleans)", drift.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_database_migrated_by_a_newer_build_is_refused()
    {
        await using var database = SqliteTestFile.Create();
        await database.MigrateAsync();
        await database.ScalarAsync("INSERT INTO vivim_schema_migrations (version, name, checksum) VALUES (9999, 'future', 'x')");

        await Assert.ThrowsAsync<SchemaDriftException>(database.MigrateAsync);
    }

    [Fact]
    public async Task A_SQLite_file_is_migrated_once_and_a_second_run_applies_nothing()
    {
        await using var database = SqliteTestFile.Create();

        var first = await database.MigrateAsync();
        var second = await database.MigrateAsync();

        Assert.Equal(Migration.For(DatabaseKind.Sqlite).Select(m => m.Version), first.Applied.Select(m => m.Version));
        Assert.Empty(second.Applied);
        Assert.Equal(GrainStorageQueries.Order(StringComparer.Ordinal), await QueryKeysAsync(database));
    }

    [Theory]
    [InlineData(DatabaseKind.Sqlite)]
    [InlineData(DatabaseKind.PostgreSql)]
    public async Task The_orleans_migration_can_run_again_over_itself(DatabaseKind kind)
    {
        await using var database = await MigratedDatabase.CreateAsync(kind);
        var orleans = Migration.For(kind).Single(m => m.Name == "orleans");

        // As a hand-applied script might be, or a migration that reapplies it after a manual fix.
        await using (var connection = await database.OpenAsync())
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = orleans.Sql;
            await command.ExecuteNonQueryAsync();
        }

        Assert.Empty((await database.MigrateAsync()).Applied);
    }

    [Theory]
    [InlineData(DatabaseKind.Sqlite)]
    [InlineData(DatabaseKind.PostgreSql)]
    public async Task The_hosted_DID_directory_lists_the_exit_nodes_created_before_it(DatabaseKind kind)
    {
        await using var database = await MigratedDatabase.CreateAsync(kind);
        var hostedDids = Migration.For(kind).Single(m => m.Name == "hosted_dids");

        // A database as the release before the directory left it: its exit nodes exist only as grain state.
        await database.ScalarAsync("DROP TABLE vivim_hosted_dids");
        await database.ScalarAsync("DELETE FROM vivim_schema_migrations WHERE version = " + hostedDids.Version.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var (state, did, payload) in new (string, string, byte[]?)[]
        {
            ("exitNode", "did:key:z6MkHosted", [1, 2, 3]),
            ("exitNode", "did:key:z6MkDeleted", null), // cleared: the exit node was deleted
            ("anchor", "did:key:z6MkHosted", [4]),
            ("tenant", "t1", [5]),
        })
        {
            await database.ScalarAsync(
                "INSERT INTO vivim_grain_state (grain_id_hash, state_name_hash, service_id, state_name, grain_id_n0, grain_id_n1, grain_id_extension, payload, version) VALUES (1, 2, 'vivim', @state, 0, 0, @did, @payload, 1)",
                ("@state", state), ("@did", did), ("@payload", payload));
        }

        Assert.Equal([hostedDids.Version], (await database.MigrateAsync()).Applied.Select(m => m.Version));
        Assert.Equal(1L, Convert.ToInt64(await database.ScalarAsync("SELECT count(*) FROM vivim_hosted_dids"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("did:key:z6MkHosted", await database.ScalarAsync("SELECT did FROM vivim_hosted_dids"));
    }

    private static async Task<List<string>> QueryKeysAsync(MigratedDatabase database)
    {
        await using var connection = await database.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT QueryKey FROM OrleansQuery";
        await using var reader = await command.ExecuteReaderAsync();
        var keys = new List<string>();
        while (await reader.ReadAsync())
        {
            keys.Add(reader.GetString(0));
        }

        keys.Sort(StringComparer.Ordinal);
        return keys;
    }
}
