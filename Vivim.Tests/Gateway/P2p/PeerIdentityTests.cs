using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Vivim.Gateway.P2p;
using Vivim.Gateway.P2p.Identity;
using Vivim.Hosting;
using Vivim.Keys;
using Vivim.Storage.Schema;
using Vivim.Tests.Support;

namespace Vivim.Tests.Gateway.P2p;

/// <summary>
/// Each gateway silo keeps one libp2p identity, sealed at rest: the embedded node in its data directory, a cluster
/// silo in PostgreSQL or Azure Table storage under its stable name. Restarts keep the peer id; another silo has another.
/// </summary>
public sealed class PeerIdentityTests
{
    [Fact]
    public async Task The_embedded_node_keeps_its_peer_id_across_restarts_of_the_same_data_directory_and_another_directory_gets_another()
    {
        var data = Directory.CreateTempSubdirectory("vivim-p2p-id-").FullName;
        var other = Directory.CreateTempSubdirectory("vivim-p2p-id-").FullName;
        try
        {
            string first;
            byte[] seed;
            await using (var gateway = await P2pTestGateway.StartAsync(data))
            {
                first = (await gateway.GetP2pAsync()).PeerId;
                seed = Seed(gateway.PeerService.Peer!);
            }

            var file = Path.Combine(data, FilePeerIdentityStore.FileName);
            var stored = await File.ReadAllBytesAsync(file);
            Assert.False(stored.AsSpan().IndexOf(seed) >= 0, "the identity file holds the seed in the clear");
            Assert.DoesNotContain(Convert.ToBase64String(seed), System.Text.Encoding.UTF8.GetString(stored), StringComparison.Ordinal);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            }

            await using (var again = await P2pTestGateway.StartAsync(data))
            {
                Assert.Equal(first, (await again.GetP2pAsync()).PeerId);
            }

            await using var elsewhere = await P2pTestGateway.StartAsync(other);
            Assert.NotEqual(first, (await elsewhere.GetP2pAsync()).PeerId);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
            Directory.Delete(other, recursive: true);
        }
    }

    [Fact]
    public async Task A_sealed_identity_file_does_not_open_under_another_key_encryption_key()
    {
        var data = Directory.CreateTempSubdirectory("vivim-p2p-id-").FullName;
        try
        {
            var location = StorageLocation.Resolve(new VivimStorageOptions(), data);
            using var created = await new FilePeerIdentityStore(location, Vault("a")).LoadOrCreateAsync(CancellationToken.None);
            using var reopened = await new FilePeerIdentityStore(location, Vault("a")).LoadOrCreateAsync(CancellationToken.None);
            Assert.Equal(created.PeerId, reopened.PeerId);

            var wrongKey = await Assert.ThrowsAsync<InvalidOperationException>(() => new FilePeerIdentityStore(location, Vault("b")).LoadOrCreateAsync(CancellationToken.None));
            Assert.Contains(FilePeerIdentityStore.FileName, wrongKey.Message, StringComparison.Ordinal);
            Assert.Contains("key-encryption key", wrongKey.Message, StringComparison.Ordinal);

            // Rotation: with b active and a still configured, the identity opens and is sealed again under b.
            using var rotated = await new FilePeerIdentityStore(location, Vault("b", "a")).LoadOrCreateAsync(CancellationToken.None);
            using var underB = await new FilePeerIdentityStore(location, Vault("b")).LoadOrCreateAsync(CancellationToken.None);
            Assert.Equal(created.PeerId, rotated.PeerId);
            Assert.Equal(created.PeerId, underB.PeerId);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task A_cluster_silo_keeps_its_peer_id_under_its_silo_name_in_PostgreSQL_sealed_and_another_name_gets_another()
    {
        await using var database = await Postgres.CreateDatabaseAsync();
        await using (var connection = new NpgsqlConnection(database.ConnectionString))
        {
            await connection.OpenAsync();
            await new SchemaMigrator(DatabaseKind.PostgreSql, NullLogger.Instance).MigrateAsync(connection);
        }

        var location = StorageLocation.Resolve(new VivimStorageOptions { Provider = DatabaseKind.PostgreSql, ConnectionString = database.ConnectionString }, "unused");
        using var a = await KeepsOnePeerIdPerSiloNameAsync((vault, name) => new PostgreSqlPeerIdentityStore(location, vault, name));

        await using var read = new NpgsqlConnection(database.ConnectionString);
        await read.OpenAsync();
        await using var select = new NpgsqlCommand("SELECT peer_id, kek_id, nonce, ciphertext FROM vivim_p2p_identities WHERE silo_name = 'gateway-a'", read);
        await using var row = await select.ExecuteReaderAsync();
        Assert.True(await row.ReadAsync());
        Assert.Equal(a.PeerId.ToString(), row.GetString(0));
        Assert.Equal("k", row.GetString(1));
        var seed = Seed(a);
        foreach (var column in new[] { (byte[])row[2], (byte[])row[3] })
        {
            Assert.False(column.AsSpan().IndexOf(seed) >= 0, "the row holds the seed in the clear");
        }
    }

    [Fact]
    public async Task A_gateway_on_PostgreSQL_restarted_under_the_same_silo_name_answers_the_same_peer_id()
    {
        await using var database = await Postgres.CreateDatabaseAsync();
        string[] cluster =
        [
            "--Vivim:Storage:Provider", "PostgreSql",
            "--Vivim:Storage:ConnectionString", database.ConnectionString,
            "--Vivim:Storage:MigrateOnStart", "true",
            "--Vivim:AdvertisedAddress", "127.0.0.1",
            "--Vivim:KeyEncryption:ActiveKeyId", "test",
            "--Vivim:KeyEncryption:Keys:test", ClusterFixture.TestKek,
        ];
        var data = Path.Combine(Path.GetTempPath(), "vivim-p2p-unused");
        string first;
        await using (var gateway = await P2pTestGateway.StartAsync(data, [.. cluster, "--Vivim:SiloName", "gateway-1"]))
        {
            first = (await gateway.GetP2pAsync()).PeerId;
        }

        await using (var restarted = await P2pTestGateway.StartAsync(data, [.. cluster, "--Vivim:SiloName", "gateway-1"]))
        {
            Assert.Equal(first, (await restarted.GetP2pAsync()).PeerId);
        }

        await using var second = await P2pTestGateway.StartAsync(data, [.. cluster, "--Vivim:SiloName", "gateway-2"]);
        Assert.NotEqual(first, (await second.GetP2pAsync()).PeerId);
    }

    /// <summary>A vault sealing under <paramref name="active"/> that also opens what <paramref name="older"/> KEKs sealed.</summary>
    [Fact]
    public async Task A_cluster_silo_keeps_its_peer_id_under_its_silo_name_in_Azure_Table_storage_sealed_and_another_name_gets_another()
    {
        var account = AzureStorageAccount.Parse(Azurite.ConnectionString, Azurite.NewPrefix());
        await account.EnsureCreatedAsync();
        try
        {
            var table = account.Tables.GetTableClient(account.TableName(AzureStorageAccount.PeerIdentitiesTable));
            using var a = await KeepsOnePeerIdPerSiloNameAsync((vault, name) => new AzureTablePeerIdentityStore(table, vault, name));

            var entity = Assert.Single(table.Query<Azure.Data.Tables.TableEntity>(e => e.GetString("SiloName") == "gateway-a"));
            Assert.Equal(a.PeerId.ToString(), entity.GetString("PeerId"));
            Assert.Equal("k", entity.GetString("KekId"));
            var seed = Seed(a);
            foreach (var column in new[] { entity.GetBinary("Nonce"), entity.GetBinary("Ciphertext") })
            {
                Assert.False(column.AsSpan().IndexOf(seed) >= 0, "the entity holds the seed in the clear");
            }
        }
        finally
        {
            await Vivim.Tests.Storage.AzureAccountFixture.DeleteAllAsync(account);
        }
    }

    /// <summary>
    /// One store's contract: a silo name keeps its identity, another name gets another, racing first starts agree on
    /// one, and a newer active KEK reseals it. Returns gateway-a's identity, for the caller to find in its storage.
    /// </summary>
    private static async Task<Vivim.Libp2p.Core.Ed25519Identity> KeepsOnePeerIdPerSiloNameAsync(Func<KeyVault, string, IPeerIdentityStore> store)
    {
        var a = await store(Vault("k"), "gateway-a").LoadOrCreateAsync(CancellationToken.None);
        using var aAgain = await store(Vault("k"), "gateway-a").LoadOrCreateAsync(CancellationToken.None);
        using var b = await store(Vault("k"), "gateway-b").LoadOrCreateAsync(CancellationToken.None);
        Assert.Equal(a.PeerId, aAgain.PeerId);
        Assert.NotEqual(a.PeerId, b.PeerId);

        // Two silos starting at once under one name agree on one identity.
        var racing = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => store(Vault("k"), "gateway-c").LoadOrCreateAsync(CancellationToken.None)));
        Assert.Single(racing.Select(i => i.PeerId).Distinct());
        foreach (var identity in racing)
        {
            identity.Dispose();
        }

        // Rotation: opened under a newer active KEK (the old one still configured), the record is sealed again under it.
        using var rotated = await store(Vault("k2", "k"), "gateway-b").LoadOrCreateAsync(CancellationToken.None);
        using var underK2 = await store(Vault("k2"), "gateway-b").LoadOrCreateAsync(CancellationToken.None);
        Assert.Equal(b.PeerId, rotated.PeerId);
        Assert.Equal(b.PeerId, underK2.PeerId);
        return a;
    }

    private static KeyVault Vault(string active, params string[] older)
    {
        var options = new KeyVaultOptions { ActiveKeyId = active };
        foreach (var id in older.Prepend(active))
        {
            options.Keys[id] = Convert.ToBase64String(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("p2p test kek " + id)));
        }

        return new KeyVault(Options.Create(options));
    }

    private static byte[] Seed(GatewayPeer peer) => Seed(peer.Host.Identity);

    /// <summary>The Ed25519 seed inside the libp2p PrivateKey protobuf (08 01 12 40 ‖ seed ‖ public key).</summary>
    private static byte[] Seed(Vivim.Libp2p.Core.Ed25519Identity identity) => identity.ToPrivateKeyProtobuf()[4..36];
}
