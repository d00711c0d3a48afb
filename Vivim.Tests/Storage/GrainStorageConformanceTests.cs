using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.Storage;
using Orleans.TestingHost;
using Vivim.Anchors;
using Vivim.Clones;
using Vivim.ExitNodes;
using Vivim.Hosting;
using Vivim.Keys;
using Vivim.Protocol.Model;
using Vivim.Storage.Schema;

namespace Vivim.Tests.Storage;

/// <summary>
/// One silo whose grain state provider (<see cref="VivimProviders.GrainState"/>) is Orleans' ADO.NET provider on a
/// migrated database of its own, plus a second provider on the same tables that deletes records on clear.
/// </summary>
public abstract class GrainStorageFixture(DatabaseKind kind) : IAsyncLifetime
{
    public const string DeletingProvider = "vivim-state-deleting";

    private InProcessTestCluster? _cluster;

    public MigratedDatabase Database { get; private set; } = null!;

    public IGrainStorage Storage { get; private set; } = null!;

    public IGrainStorage DeletingStorage { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Database = await MigratedDatabase.CreateAsync(kind);
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.InitializeClientOnDeploy = false;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddVivimGrainStorage(kind, Database.ConnectionString);
            silo.AddAdoNetGrainStorage(DeletingProvider, o =>
            {
                o.Invariant = AdoNetInvariants.For(kind);
                o.ConnectionString = Database.ConnectionString;
                o.DeleteStateOnClear = true;
            });
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
        var services = _cluster.GetSiloServiceProvider();
        Storage = services.GetRequiredKeyedService<IGrainStorage>(VivimProviders.GrainState);
        DeletingStorage = services.GetRequiredKeyedService<IGrainStorage>(DeletingProvider);
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        if (Database is not null)
        {
            await Database.DisposeAsync();
        }
    }
}

public sealed class SqliteGrainStorageFixture() : GrainStorageFixture(DatabaseKind.Sqlite);

public sealed class PostgreSqlGrainStorageFixture() : GrainStorageFixture(DatabaseKind.PostgreSql);

/// <summary>What a grain's <see cref="IPersistentState{TState}"/> hands its provider.</summary>
public sealed class Slot<T> : IGrainState<T>
    where T : new()
{
    public T State { get; set; } = new();

    T? IGrainState<T>.State
    {
        get => State;
        set => State = value ?? throw new InvalidOperationException("The provider set a null state.");
    }

    public string? ETag { get; set; }

    public bool RecordExists { get; set; }
}

[GenerateSerializer, Alias("vivim.tests.ConformanceState")]
public sealed class ConformanceState
{
    [Id(0)] public string Text { get; set; } = string.Empty;

    [Id(1)] public int Number { get; set; }
}

/// <summary>
/// The grain storage contract Orleans expects of a provider (after Orleans' own provider test kit), run against the real
/// ADO.NET provider on our schema: ETags, conflicts, clears, key shapes and concurrency.
/// </summary>
public abstract class GrainStorageConformanceTests(GrainStorageFixture fixture)
{
    private const string StateName = "conformance";

    private IGrainStorage Storage => fixture.Storage;

    [Fact]
    public async Task Reading_a_missing_record_gives_a_new_state_without_etag()
    {
        var state = new Slot<ConformanceState>();

        await Storage.ReadStateAsync(StateName, NewGrain(), state);

        Assert.NotNull(state.State);
        Assert.Equal(string.Empty, state.State.Text);
        Assert.Null(state.ETag);
        Assert.False(state.RecordExists);
    }

    [Fact]
    public async Task A_written_state_reads_back_with_its_etag()
    {
        var grain = NewGrain();
        var written = State("first", 1);

        await Storage.WriteStateAsync(StateName, grain, written);
        var read = await ReadAsync(grain);

        Assert.True(written.RecordExists);
        Assert.NotNull(written.ETag);
        Assert.Equal("first", read.State.Text);
        Assert.Equal(1, read.State.Number);
        Assert.Equal(written.ETag, read.ETag);
        Assert.True(read.RecordExists);
    }

    [Fact]
    public async Task Every_write_changes_the_etag_even_with_the_same_values()
    {
        var grain = NewGrain();
        var state = State("same", 7);
        var etags = new List<string?>();

        for (var i = 0; i < 3; i++)
        {
            await Storage.WriteStateAsync(StateName, grain, state);
            etags.Add(state.ETag);
        }

        Assert.All(etags, etag => Assert.NotNull(etag));
        Assert.Equal(3, etags.Distinct().Count());
        Assert.Equal(etags[^1], (await ReadAsync(grain)).ETag);
    }

    [Fact]
    public async Task A_write_with_a_stale_etag_is_refused_and_changes_nothing()
    {
        var grain = NewGrain();
        await Storage.WriteStateAsync(StateName, grain, State("v1", 1));
        var first = await ReadAsync(grain);
        var second = await ReadAsync(grain);

        second.State.Text = "v2";
        await Storage.WriteStateAsync(StateName, grain, second);
        first.State.Text = "lost";
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.WriteStateAsync(StateName, grain, first));

        var stored = await ReadAsync(grain);
        Assert.Equal("v2", stored.State.Text);
        Assert.Equal(second.ETag, stored.ETag);
    }

    [Fact]
    public async Task A_second_first_write_is_refused()
    {
        var grain = NewGrain();
        await Storage.WriteStateAsync(StateName, grain, State("winner", 1));

        // Another activation that never saw the record (a duplicate activation) writes without an ETag.
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.WriteStateAsync(StateName, grain, State("duplicate", 2)));

        Assert.Equal("winner", (await ReadAsync(grain)).State.Text);
    }

    [Fact]
    public async Task Of_racing_first_writes_exactly_one_wins()
    {
        var grain = NewGrain();
        var writers = Enumerable.Range(0, 8).Select(i => State("writer " + i, i)).ToList();

        var outcomes = await Task.WhenAll(writers.Select(async state =>
        {
            try
            {
                await Storage.WriteStateAsync(StateName, grain, state);
                return true;
            }
            catch (InconsistentStateException)
            {
                return false;
            }
        }));

        var winner = Assert.Single(writers.Where((_, i) => outcomes[i]));
        var stored = await ReadAsync(grain);
        Assert.Equal(winner.State.Text, stored.State.Text);
        Assert.Equal(winner.ETag, stored.ETag);
    }

    [Fact]
    public async Task A_cleared_record_is_deleted_and_reads_as_missing()
    {
        // Vivim's provider deletes on clear: the row's key names a tenant, a DID or a clone, and a deletion keeps none.
        var grain = NewGrain();
        var state = State("to clear", 3);
        await Storage.WriteStateAsync(StateName, grain, state);

        await Storage.ClearStateAsync(StateName, grain, state);

        Assert.False(state.RecordExists);
        Assert.NotNull(state.State);
        Assert.Equal(string.Empty, state.State.Text);
        Assert.Null(state.ETag);
        Assert.Equal(0L, Convert.ToInt64(await fixture.Database.ScalarAsync(
            "SELECT count(*) FROM vivim_grain_state WHERE grain_id_extension = @key", ("key", grain.Key.ToString()))));
        var read = await ReadAsync(grain);
        Assert.False(read.RecordExists);
        Assert.Equal(string.Empty, read.State.Text);
        Assert.Null(read.ETag);
    }

    [Fact]
    public async Task A_clear_with_a_stale_etag_is_refused()
    {
        var grain = NewGrain();
        await Storage.WriteStateAsync(StateName, grain, State("v1", 1));
        var stale = await ReadAsync(grain);
        var current = await ReadAsync(grain);
        await Storage.WriteStateAsync(StateName, grain, current);

        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.ClearStateAsync(StateName, grain, stale));

        Assert.True((await ReadAsync(grain)).RecordExists);
    }

    [Fact]
    public async Task Clearing_a_missing_record_is_a_no_op()
    {
        var grain = NewGrain();
        var state = new Slot<ConformanceState>();

        await Storage.ClearStateAsync(StateName, grain, state);

        Assert.False(state.RecordExists);
        Assert.Null(state.ETag);
        Assert.Equal(0L, Convert.ToInt64(await fixture.Database.ScalarAsync(
            "SELECT count(*) FROM vivim_grain_state WHERE grain_id_extension = @key", ("key", grain.Key.ToString()))));
    }

    [Fact]
    public async Task Write_clear_write_reads_the_last_write()
    {
        var grain = NewGrain();
        var state = State("one", 1);
        await Storage.WriteStateAsync(StateName, grain, state);
        await Storage.ClearStateAsync(StateName, grain, state);

        state.State = new ConformanceState { Text = "two", Number = 2 };
        await Storage.WriteStateAsync(StateName, grain, state);

        var read = await ReadAsync(grain);
        Assert.True(read.RecordExists);
        Assert.Equal("two", read.State.Text);
        Assert.Equal(state.ETag, read.ETag);
    }

    [Fact]
    public async Task With_delete_on_clear_the_record_is_gone_and_starts_over()
    {
        var grain = NewGrain();
        var storage = fixture.DeletingStorage;
        var state = State("deleted soon", 1);
        await storage.WriteStateAsync(StateName, grain, state);

        await storage.ClearStateAsync(StateName, grain, state);

        Assert.Null(state.ETag);
        Assert.False(state.RecordExists);
        Assert.Null(await fixture.Database.ScalarAsync(
            "SELECT version FROM vivim_grain_state WHERE grain_id_extension = @key", ("key", grain.Key.ToString())));
        state.State = new ConformanceState { Text = "again", Number = 2 };
        await storage.WriteStateAsync(StateName, grain, state);
        var read = new Slot<ConformanceState>();
        await storage.ReadStateAsync(StateName, grain, read);
        Assert.Equal("again", read.State.Text);
    }

    [Fact]
    public async Task State_names_are_independent_records()
    {
        var grain = NewGrain();
        await Storage.WriteStateAsync("profile", grain, State("profile", 1));
        await Storage.WriteStateAsync("settings", grain, State("settings", 2));

        var profile = new Slot<ConformanceState>();
        var settings = new Slot<ConformanceState>();
        await Storage.ReadStateAsync("profile", grain, profile);
        await Storage.ReadStateAsync("settings", grain, settings);
        await Storage.ClearStateAsync("profile", grain, profile);
        await Storage.ReadStateAsync("settings", grain, settings);

        Assert.Equal("settings", settings.State.Text);
        Assert.True(settings.RecordExists);
    }

    [Fact]
    public async Task The_grain_type_is_not_part_of_the_record_key()
    {
        // Why every grain class needs a state name of its own on one provider (see StateNameTests).
        var key = Guid.NewGuid().ToString("N");
        await Storage.WriteStateAsync(StateName, GrainId.Create("vivim-test-a", key), State("a", 1));

        var read = new Slot<ConformanceState>();
        await Storage.ReadStateAsync(StateName, GrainId.Create("vivim-test-b", key), read);

        Assert.Equal("a", read.State.Text);
    }

    [Fact]
    public async Task Cyrillic_string_keys_are_stored_as_they_are()
    {
        var key = "анкер/Привет-мир-" + Guid.NewGuid().ToString("N")[..8];
        var grain = GrainId.Create("vivim-test", key);
        await Storage.WriteStateAsync(StateName, grain, State("Ёжик в тумане", 1));

        var read = await ReadAsync(grain);

        Assert.Equal("Ёжик в тумане", read.State.Text);
        Assert.Equal(key, await fixture.Database.ScalarAsync(
            "SELECT grain_id_extension FROM vivim_grain_state WHERE grain_id_extension = @key", ("key", key)));
    }

    [Fact]
    public async Task Integer_and_guid_keys_with_and_without_extensions_are_distinct_records()
    {
        var type = GrainType.Create("vivim-test-keys");
        var number = Random.Shared.NextInt64(1, long.MaxValue);
        var guid = Guid.NewGuid();
        var grains = new[]
        {
            GrainId.Create(type, GrainIdKeyExtensions.CreateIntegerKey(number)),
            GrainId.Create(type, GrainIdKeyExtensions.CreateIntegerKey(number, "north")),
            GrainId.Create(type, GrainIdKeyExtensions.CreateIntegerKey(-number, "north")),
            GrainId.Create(type, GrainIdKeyExtensions.CreateGuidKey(guid)),
            GrainId.Create(type, GrainIdKeyExtensions.CreateGuidKey(guid, "north")),
            GrainId.Create(type, GrainIdKeyExtensions.CreateGuidKey(guid, "south")),
        };

        for (var i = 0; i < grains.Length; i++)
        {
            await Storage.WriteStateAsync(StateName, grains[i], State(grains[i].ToString(), i));
        }

        for (var i = 0; i < grains.Length; i++)
        {
            var read = await ReadAsync(grains[i]);
            Assert.Equal(grains[i].ToString(), read.State.Text);
            Assert.Equal(i, read.State.Number);
        }

        Assert.Equal(number, Convert.ToInt64(await fixture.Database.ScalarAsync(
            "SELECT grain_id_n1 FROM vivim_grain_state WHERE grain_id_n1 = @n AND grain_id_extension IS NULL", ("n", number))));
    }

    [Fact]
    public async Task Different_grains_read_and_write_in_parallel()
    {
        var grains = Enumerable.Range(0, 48).Select(_ => NewGrain()).ToList();

        await Task.WhenAll(grains.Select(async (grain, i) =>
        {
            var state = State("parallel " + i, i);
            for (var round = 0; round < 3; round++)
            {
                state.State.Number = i * 10 + round;
                await Storage.WriteStateAsync(StateName, grain, state);
                var read = await ReadAsync(grain);
                Assert.Equal(i * 10 + round, read.State.Number);
                Assert.Equal(state.ETag, read.ETag);
            }
        }));
    }

    /// <summary>
    /// Our state types through the provider's serializer, with lists built the way the grains build them (collection
    /// expressions into <c>IReadOnlyList</c> make compiler-generated types, which Orleans' default JSON storage
    /// serializer cannot read back; see <see cref="OrleansStorageExtensions.AddVivimGrainStorage"/>).
    /// </summary>
    [Fact]
    public async Task Vivim_grain_states_round_trip_through_the_provider()
    {
        var grain = NewGrain();
        var key = new SealedKey("kek-1", "did:key:z6MkOwner", [1, 2, 3], [4, 5, 6, 7]);
        var proof = new TrustProof(
            TrustProofType.Attestation, "did:key:z6MkIssuer", "clone-1", "sig", 1_700_000_000_000,
            new TrustProofPayload(TrustLevel.Secondary, Permissions: ["read"], Reason: "ok"), new V2Proof("Ed25519", "sig2"));
        var anchor = new AnchorStateGrain.Record { ParentKey = key };
        anchor.Writers["clone-1"] = new WriterGrant("clone-1", "did:key:z6MkClone", CanWrite: false);
        var clone = new CloneState
        {
            Registration = new CloneRegistration("clone-1", "did:key:z6MkClone", "did:key:z6MkParent", TrustLevel.Primary, ["read", "write"], MigrationType.Fork, 1_700_000_000_000, 42),
            Status = CloneLifecycle.Suspended,
            // Values that differ from the records' optional-parameter defaults, in both directions.
            Config = new SyncConfig(AutoSync: false, SyncInterval: 0, MaxBatchSize: 5, Compression: true),
            Cursor = 41,
            LastSyncAt = null,
            StateHash = "root",
            ForkSnapshotTaken = true,
        };
        var exitNode = new ExitNodeState
        {
            Created = true,
            TenantId = "tenant",
            Key = key,
            Policy = new ExitNodePolicy(MaxClones: 0, AllowMigration: false, RequireVerification: false),
            DefaultPermissions = ["read"],
            Endpoints = new ExitNodeEndpoints("wss://clone", "https://sync", "https://relay"),
            Advertisement = new ExitNodeAdvertisement(
                "did:key:z6MkNode", "peer", ["/ip4/127.0.0.1/tcp/4001"], ["sync"], ["1"], TrustLevel.Genesis,
                new AnchorState("did:key:z6MkNode", "clone-0", null, TrustLevel.Genesis, "root", "cid", 1, "1", ["sync"], "sig"),
                new ExitNodeEndpoints("wss://clone", "https://sync", "https://relay"), new ExitNodePolicy(), new V2Proof("Ed25519", "s")),
        };
        exitNode.Clones["clone-1"] = new RegisteredClone
        {
            CloneId = "clone-1",
            Did = "did:key:z6MkClone",
            TrustLevel = TrustLevel.Suspended,
            TrustBeforeSuspension = TrustLevel.Secondary,
            Permissions = ["read"],
            MigrationType = MigrationType.Mirror,
            RegisteredAt = 5,
            Status = CloneLifecycle.Suspended,
            LastProof = proof,
            SuspensionProof = proof,
        };
        exitNode.SpentNonces["nonce"] = 9;

        Assert.Equal(Json(anchor), Json(await RoundTripAsync("anchor", grain, anchor)));
        Assert.Equal(Json(clone), Json(await RoundTripAsync("clone", grain, clone)));
        Assert.Equal(Json(exitNode), Json(await RoundTripAsync("exitNode", grain, exitNode)));
    }

    private async Task<T> RoundTripAsync<T>(string stateName, GrainId grain, T value)
        where T : new()
    {
        await Storage.WriteStateAsync(stateName, grain, new Slot<T> { State = value });
        var read = new Slot<T>();
        await Storage.ReadStateAsync(stateName, grain, read);
        return read.State;
    }

    private static string Json<T>(T value) => JsonSerializer.Serialize(value);

    private async Task<Slot<ConformanceState>> ReadAsync(GrainId grain)
    {
        var state = new Slot<ConformanceState>();
        await Storage.ReadStateAsync(StateName, grain, state);
        return state;
    }

    private static Slot<ConformanceState> State(string text, int number) =>
        new() { State = new ConformanceState { Text = text, Number = number } };

    private static GrainId NewGrain() => GrainId.Create("vivim-test", "grain-" + Guid.NewGuid().ToString("N"));
}

public sealed class SqliteGrainStorageTests(SqliteGrainStorageFixture fixture)
    : GrainStorageConformanceTests(fixture), IClassFixture<SqliteGrainStorageFixture>;

public sealed class PostgreSqlGrainStorageTests(PostgreSqlGrainStorageFixture fixture)
    : GrainStorageConformanceTests(fixture), IClassFixture<PostgreSqlGrainStorageFixture>;
