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
using Vivim.Tests.Support;

namespace Vivim.Tests.Storage;

/// <summary>One silo with the grain storage under test, and what the tests need to look at its records directly.</summary>
public abstract class GrainStorageFixture : IAsyncLifetime
{
    private InProcessTestCluster? _cluster;

    /// <summary>The provider under test.</summary>
    public IGrainStorage Storage { get; private set; } = null!;

    /// <summary>A provider on the same records that deletes a record on clear.</summary>
    public IGrainStorage DeletingStorage { get; private set; } = null!;

    /// <summary>The silo's services (its serializer, every registered storage).</summary>
    public IServiceProvider Services { get; private set; } = null!;

    /// <summary>The migrated database of the ADO.NET providers; null on Azure Storage.</summary>
    public virtual MigratedDatabase? Database => null;

    /// <summary>
    /// Whether a record's key holds the grain's type. The ADO.NET provider keys records by the grain's key and the state
    /// name only (hence one state name per grain class, see StateNameTests); Orleans' Azure providers key them by the
    /// whole grain id.
    /// </summary>
    public abstract bool GrainTypeInRecordKey { get; }

    /// <summary>How many stored records (rows, entities or blobs) belong to <paramref name="grain"/>, read past the provider.</summary>
    public abstract Task<long> CountRecordsAsync(GrainId grain);

    public async Task InitializeAsync()
    {
        await PrepareAsync();
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.InitializeClientOnDeploy = false;
        builder.ConfigureSilo((_, silo) => ConfigureSilo(silo));
        _cluster = builder.Build();
        await _cluster.DeployAsync();
        Services = _cluster.GetSiloServiceProvider();
        Storage = Services.GetRequiredKeyedService<IGrainStorage>(StorageName);
        DeletingStorage = Services.GetRequiredKeyedService<IGrainStorage>(DeletingStorageName);
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        await CleanUpAsync();
    }

    protected abstract string StorageName { get; }

    protected abstract string DeletingStorageName { get; }

    protected abstract Task PrepareAsync();

    protected abstract void ConfigureSilo(ISiloBuilder silo);

    protected abstract Task CleanUpAsync();
}

/// <summary>
/// Orleans' ADO.NET provider (<see cref="VivimProviders.GrainState"/>) on a migrated database of its own, plus a second
/// provider on the same tables that deletes records on clear.
/// </summary>
public abstract class AdoNetGrainStorageFixture(DatabaseKind kind) : GrainStorageFixture
{
    public const string DeletingProvider = "vivim-state-deleting";

    private MigratedDatabase? _database;

    public override MigratedDatabase Database => _database ?? throw new InvalidOperationException("Not initialized.");

    public override bool GrainTypeInRecordKey => false;

    public override async Task<long> CountRecordsAsync(GrainId grain) => Convert.ToInt64(await Database.ScalarAsync(
        "SELECT count(*) FROM vivim_grain_state WHERE grain_id_extension = @key", ("key", grain.Key.ToString())));

    protected override string StorageName => VivimProviders.GrainState;

    protected override string DeletingStorageName => DeletingProvider;

    protected override async Task PrepareAsync() => _database = await MigratedDatabase.CreateAsync(kind);

    protected override void ConfigureSilo(ISiloBuilder silo)
    {
        silo.AddVivimGrainStorage(kind, Database.ConnectionString);
        silo.AddAdoNetGrainStorage(DeletingProvider, o =>
        {
            o.Invariant = AdoNetInvariants.For(kind);
            o.ConnectionString = Database.ConnectionString;
            o.DeleteStateOnClear = true;
        });
    }

    protected override async Task CleanUpAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}

public sealed class SqliteGrainStorageFixture() : AdoNetGrainStorageFixture(DatabaseKind.Sqlite);

public sealed class PostgreSqlGrainStorageFixture() : AdoNetGrainStorageFixture(DatabaseKind.PostgreSql);

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
        await Assert.ThrowsAnyAsync<InconsistentStateException>(() => Storage.WriteStateAsync(StateName, grain, first));

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
        await Assert.ThrowsAnyAsync<InconsistentStateException>(() => Storage.WriteStateAsync(StateName, grain, State("duplicate", 2)));

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
        Assert.Equal(0L, await fixture.CountRecordsAsync(grain));
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

        await Assert.ThrowsAnyAsync<InconsistentStateException>(() => Storage.ClearStateAsync(StateName, grain, stale));

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
        Assert.Equal(0L, await fixture.CountRecordsAsync(grain));
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
        Assert.Equal(0L, await fixture.CountRecordsAsync(grain));
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
    public async Task Whether_the_grain_type_is_part_of_the_record_key_is_as_the_provider_says()
    {
        // Why every grain class needs a state name of its own on the ADO.NET provider (see StateNameTests).
        var key = Guid.NewGuid().ToString("N");
        await Storage.WriteStateAsync(StateName, GrainId.Create("vivim-test-a", key), State("a", 1));

        var read = new Slot<ConformanceState>();
        await Storage.ReadStateAsync(StateName, GrainId.Create("vivim-test-b", key), read);

        Assert.Equal(fixture.GrainTypeInRecordKey ? string.Empty : "a", read.State.Text);
        Assert.Equal(!fixture.GrainTypeInRecordKey, read.RecordExists);
    }

    [Fact]
    public async Task Cyrillic_string_keys_are_stored_as_they_are()
    {
        var key = "анкер/Привет-мир-" + Guid.NewGuid().ToString("N")[..8];
        var grain = GrainId.Create("vivim-test", key);
        await Storage.WriteStateAsync(StateName, grain, State("Ёжик в тумане", 1));

        var read = await ReadAsync(grain);

        Assert.Equal("Ёжик в тумане", read.State.Text);
        Assert.Equal(1L, await fixture.CountRecordsAsync(grain));
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

        // The reads above tell the records apart; on the ADO.NET provider the number is a column of its own too.
        if (fixture.Database is { } database)
        {
            Assert.Equal(number, Convert.ToInt64(await database.ScalarAsync(
                "SELECT grain_id_n1 FROM vivim_grain_state WHERE grain_id_n1 = @n AND grain_id_extension IS NULL", ("n", number))));
        }
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

/// <summary>
/// Orleans' Azure providers as <see cref="AzureOrleansStorageExtensions.AddVivimAzureGrainStorage"/> registers them on
/// the test Azurite (a prefix of their own): the Table or the Blob provider under test, both deleting on clear.
/// </summary>
public abstract class AzureGrainStorageFixture(bool tableProvider) : GrainStorageFixture
{
    public AzureStorageAccount Account { get; } = AzureStorageAccount.Parse(Azurite.ConnectionString, Azurite.NewPrefix());

    public override bool GrainTypeInRecordKey => true;

    /// <summary>The storage grains name (<see cref="VivimProviders.GrainState"/>), which places each state.</summary>
    public IGrainStorage Placed => Services.GetRequiredKeyedService<IGrainStorage>(VivimProviders.GrainState);

    public override async Task<long> CountRecordsAsync(GrainId grain)
    {
        // The key's last segment: the table provider escapes '/' in its keys, and test keys are unique past it.
        var marker = grain.Key.ToString()!.Split('/')[^1];
        long count = 0;
        await foreach (var entity in Account.Tables.GetTableClient(Account.TableName(AzureStorageAccount.GrainStateTable)).QueryAsync<Azure.Data.Tables.TableEntity>(select: ["PartitionKey"]))
        {
            count += entity.PartitionKey.Contains(marker, StringComparison.Ordinal) ? 1 : 0;
        }

        await foreach (var blob in Account.Blobs.GetBlobContainerClient(Account.ContainerName(AzureStorageAccount.GrainStateContainer)).GetBlobsAsync())
        {
            count += blob.Name.Contains(marker, StringComparison.Ordinal) ? 1 : 0;
        }

        return count;
    }

    protected override string StorageName => tableProvider
        ? AzureOrleansStorageExtensions.TableProviderName(VivimProviders.GrainState)
        : AzureOrleansStorageExtensions.BlobProviderName(VivimProviders.GrainState);

    protected override string DeletingStorageName => StorageName;

    protected override async Task PrepareAsync() => await Account.EnsureCreatedAsync();

    protected override void ConfigureSilo(ISiloBuilder silo) => silo.AddVivimAzureGrainStorage(Account);

    protected override Task CleanUpAsync() => AzureAccountFixture.DeleteAllAsync(Account);
}

public sealed class AzureTableGrainStorageFixture() : AzureGrainStorageFixture(tableProvider: true);

public sealed class AzureBlobGrainStorageFixture() : AzureGrainStorageFixture(tableProvider: false);

public sealed class AzureTableGrainStorageTests(AzureTableGrainStorageFixture fixture)
    : GrainStorageConformanceTests(fixture), IClassFixture<AzureTableGrainStorageFixture>;

public sealed class AzureBlobGrainStorageTests(AzureBlobGrainStorageFixture fixture)
    : GrainStorageConformanceTests(fixture), IClassFixture<AzureBlobGrainStorageFixture>;
