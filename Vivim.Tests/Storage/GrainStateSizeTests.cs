using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;
using Vivim.Anchors;
using Vivim.Clones;
using Vivim.ExitNodes;
using Vivim.Hosting;
using Vivim.Keys;
using Vivim.Protocol.Model;
using Vivim.Tenants;
using Xunit.Abstractions;

namespace Vivim.Tests.Storage;

/// <summary>
/// The largest grain states this service writes, serialized as the providers store them (Orleans' serializer), against
/// the Table provider's limit: what <see cref="AzureGrainStatePlacement"/> puts in Table storage stays far below it, and
/// the states it puts in Blob storage do reach it. The sizes are printed (docs/operations.md quotes them); the states
/// past the limit are written through the placed storage on Azurite and read back.
/// </summary>
public sealed class GrainStateSizeTests(AzureBlobGrainStorageFixture fixture, ITestOutputHelper output) : IClassFixture<AzureBlobGrainStorageFixture>
{
    /// <summary>Orleans' table provider: 15 properties of 64 KiB at most, then "Data too large".</summary>
    private const int TableProviderLimit = 15 * 64 * 1024;

    /// <summary>What Table storage is given at most: a quarter of the limit, for growth nobody measured.</summary>
    private const int TableBudget = TableProviderLimit / 4;

    private const int Clones = 10_000;

    [Fact]
    public void States_in_Table_storage_stay_far_below_its_limit_and_the_ones_in_Blob_storage_can_pass_it()
    {
        var sizes = new (string State, string Shape, int Bytes)[]
        {
            ("anchor", $"{Clones:N0} clones' writer grants and cursors", Size(Anchor(Clones))),
            ("anchor", "100 clones", Size(Anchor(100))),
            ("exitNode", $"maxClones {Clones:N0}, every clone registered with its proofs", Size(ExitNode(Clones))),
            ("exitNode", "100 clones", Size(ExitNode(100))),
            ("tenant", $"20 API keys (the most a tenant has), {Clones:N0} exit nodes", Size(Tenant(Clones))),
            ("tenant", "20 API keys, 100 exit nodes (the default quota)", Size(Tenant(100))),
            ("clone", "a fork with every field set", Size(Clone())),
        };

        foreach (var (state, shape, bytes) in sizes)
        {
            output.WriteLine($"{state,-9} {shape,-62} {bytes,12:N0} bytes ({bytes / 1024.0:N1} KiB) -> {(AzureGrainStatePlacement.InTable(state) ? "Table" : "Blob")}");
        }

        Assert.All(sizes.Where(s => AzureGrainStatePlacement.InTable(s.State)), s => Assert.True(s.Bytes < TableBudget, $"{s.State} ({s.Shape}) is {s.Bytes} bytes"));
        Assert.All(new[] { "anchor", "exitNode" }, state => Assert.Contains(sizes, s => s.State == state && s.Bytes > TableProviderLimit));
        Assert.False(AzureGrainStatePlacement.InTable("tenant"));
    }

    [Fact]
    public async Task An_anchor_and_an_exit_node_with_10000_clones_are_written_and_read_back_where_they_are_placed()
    {
        var grain = GrainId.Create("anchorstate", "did:key:z6Mk" + Guid.NewGuid().ToString("N"));
        var anchor = Anchor(Clones);
        var exitNode = ExitNode(Clones);

        await fixture.Placed.WriteStateAsync("anchor", grain, new Slot<AnchorStateGrain.Record> { State = anchor });
        await fixture.Placed.WriteStateAsync("exitNode", grain, new Slot<ExitNodeState> { State = exitNode });
        var anchorRead = new Slot<AnchorStateGrain.Record>();
        var exitNodeRead = new Slot<ExitNodeState>();
        await fixture.Placed.ReadStateAsync("anchor", grain, anchorRead);
        await fixture.Placed.ReadStateAsync("exitNode", grain, exitNodeRead);

        Assert.Equal(Clones, anchorRead.State.Cursors.Count);
        Assert.Equal(anchor.Writers.Values.Last(), anchorRead.State.Writers[anchor.Writers.Keys.Last()]);
        Assert.Equal(Clones, exitNodeRead.State.Clones.Count);
        Assert.Equal(
            System.Text.Json.JsonSerializer.Serialize(exitNode.Clones.Values.Last()),
            System.Text.Json.JsonSerializer.Serialize(exitNodeRead.State.Clones[exitNode.Clones.Keys.Last()]));

        // The same state is more than the table provider takes: that is why it is not there.
        var table = fixture.Services.GetRequiredKeyedService<IGrainStorage>(AzureOrleansStorageExtensions.TableProviderName(VivimProviders.GrainState));
        await Assert.ThrowsAnyAsync<Exception>(() => table.WriteStateAsync("anchor", grain, new Slot<AnchorStateGrain.Record> { State = anchor }));
        var absent = new Slot<AnchorStateGrain.Record>();
        await table.ReadStateAsync("anchor", grain, absent);
        Assert.False(absent.RecordExists);
    }

    private int Size<T>(T state) =>
        new OrleansGrainStorageSerializer(fixture.Services.GetRequiredService<Serializer>()).Serialize(state).ToMemory().Length;

    // Identifiers of the shapes the service makes: did:key DIDs (56 characters), clone ids of the SDK's form, hex signatures.
    private static string Did(int i) => "did:key:z6Mk" + Convert.ToHexStringLower(BitConverter.GetBytes((long)i)) + new string('q', 28);

    private static string CloneId(int i) => $"{Did(0)[..16]}-{1_767_225_600_000 + i}-{i:x8}";

    private static string Signature(int i) => Convert.ToHexStringLower(System.Security.Cryptography.SHA512.HashData(BitConverter.GetBytes(i)));

    private static SealedKey Key(string owner) => new("kek-2026-12", owner, new byte[12], new byte[48]);

    private static AnchorStateGrain.Record Anchor(int clones)
    {
        var record = new AnchorStateGrain.Record { ParentKey = Key(Did(0)), Checkpoint = new RetentionCheckpoint(1_000_000, Signature(0)[..64], 1_767_225_600_000), MaxStateBytes = 1 << 30 };
        for (var i = 0; i < clones; i++)
        {
            record.Writers[CloneId(i)] = new WriterGrant(CloneId(i), Did(i + 1), CanWrite: i % 2 == 0);
            record.Cursors[CloneId(i)] = new CloneCursor(1_000_000 + i, 1_767_225_600_000 + i);
        }

        return record;
    }

    private static ExitNodeState ExitNode(int clones)
    {
        var state = new ExitNodeState
        {
            Created = true,
            TenantId = "tenant-" + new string('t', 24),
            Key = Key(Did(0)),
            Policy = new ExitNodePolicy(MaxClones: Clones),
            DefaultPermissions = ["read", "write"],
            Capabilities = ["sync", "relay", "snapshot"],
            SupportedCloneVersions = ["1", "2"],
            Endpoints = new ExitNodeEndpoints("wss://gateway.example/v1/clone", "https://gateway.example/v1/sync", "https://gateway.example/v1/relay"),
        };
        for (var i = 0; i < clones; i++)
        {
            var proof = new TrustProof(
                TrustProofType.Attestation, Did(0), CloneId(i), Signature(i), 1_767_225_600_000 + i,
                new TrustProofPayload(TrustLevel.Secondary, Did(0), string.Empty, MigrationType.Fork, ["read", "write"], ForkSeq: i, ForkRoot: Signature(i)[..64]),
                new V2Proof("Ed25519Signature2020", Signature(i + 1)));
            state.Clones[CloneId(i)] = new RegisteredClone
            {
                CloneId = CloneId(i),
                Did = Did(i + 1),
                TrustLevel = TrustLevel.Secondary,
                Permissions = ["read", "write"],
                MigrationType = MigrationType.Fork,
                RegisteredAt = 1_767_225_600_000 + i,
                Status = CloneLifecycle.Active,
                LastProof = proof,
            };
        }

        return state;
    }

    private static TenantState Tenant(int exitNodes)
    {
        var state = new TenantState { Created = true, Name = new string('n', 64), CreatedAt = 1_767_225_600_000 };
        for (var i = 0; i < 20; i++)
        {
            state.ApiKeyHashes["key-" + i.ToString("x16", System.Globalization.CultureInfo.InvariantCulture)] = new byte[32];
        }

        for (var i = 0; i < exitNodes; i++)
        {
            state.ExitNodes.Add(Did(i));
        }

        return state;
    }

    private static CloneState Clone() => new()
    {
        Registration = new CloneRegistration(CloneId(1), Did(1), Did(0), TrustLevel.Secondary, ["read", "write"], MigrationType.Fork, 1_767_225_600_000, 1_000_000),
        Status = CloneLifecycle.Active,
        Config = new SyncConfig(AutoSync: true, SyncInterval: 30_000, MaxBatchSize: 500, Compression: true),
        Cursor = 1_000_000,
        LastSyncAt = 1_767_225_600_000,
        StateHash = Signature(1)[..64],
        ForkSnapshotTaken = true,
    };
}
