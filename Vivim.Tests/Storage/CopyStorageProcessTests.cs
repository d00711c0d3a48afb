using System.Net;
using System.Text.Json.Nodes;
using Npgsql;
using Vivim.Client.Replica;
using Vivim.Hosting;
using Vivim.Storage;
using Vivim.Storage.Azure;
using Vivim.Storage.Copy;
using Vivim.Storage.PostgreSql;
using Vivim.Storage.Schema;
using Vivim.Tests.Durability;
using Vivim.Tests.Gateway;
using Vivim.Tests.Support;

namespace Vivim.Tests.Storage;

/// <summary>
/// <c>Vivim.Silo copy-storage</c> as an operator runs it: a deployment populated through a real gateway on PostgreSQL
/// (or the embedded node's SQLite file), stopped, copied to Azure Storage (the test Azurite) by the real process, and
/// served from there by a gateway on Azure with nothing lost: same head, root and advertisement, a clone catching up
/// from its cursor, the next owner write at the next seq, the tenant's API key still valid.
/// </summary>
public sealed class CopyStorageProcessTests
{
    private static readonly TimeSpan Start = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task A_PostgreSQL_deployment_moves_to_Azure_Storage_and_is_served_from_there()
    {
        await using var database = await Postgres.CreateDatabaseAsync();
        await using var source = new ClusterProcesses(database.ConnectionString);
        var (migrated, migrateOutput) = await source.MigrateAsync();
        Assert.True(migrated == 0, migrateOutput);
        // The gateway keeps its stable name and libp2p address across the move, as a StatefulSet pod would: its peer
        // identity is copied, so the advertisement it signed stays the one it serves.
        var gatewayName = new Dictionary<string, string>
        {
            ["Vivim__SiloName"] = "gateway-0",
            ["Vivim__P2p__Listen__0"] = "/ip4/127.0.0.1/tcp/" + FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        var pgGateway = source.StartGateway("pg-gateway", out var pgUrl, gatewayName);
        await pgGateway.WaitStartedAsync(Start);

        // A tenant with a custodial exit node: commits, a clone registered between them (a spent nonce), more commits.
        var pg = GatewayFixture.At(pgUrl);
        var (_, apiKey) = await pg.CreateTenantAsync("moving");
        var did = await pg.CreateExitNodeAsync(apiKey);
        await GatewayTestKit.WriteAsync(pg, apiKey, did, ("memoryIndex/a", """{"n":1}"""), ("memoryIndex/b", """{"n":2}"""), ("memoryIndex/c", """{"n":3}"""));
        var clone = await GatewayTestKit.RegisterAsync(pg, did);
        await GatewayTestKit.WriteAsync(pg, apiKey, did, ("memoryIndex/d", """{"n":4}"""), ("memoryIndex/e", """{"n":5}"""));
        Assert.Equal(6, await GatewayTestKit.WriteAsync(pg, apiKey, did, ("memoryIndex/f", """{"n":6}""")));

        // A second node whose log retention will cut through its first commit (seqs 1-3, kept from 3).
        var retained = await pg.CreateExitNodeAsync(apiKey);
        await GatewayTestKit.WriteAsync(pg, apiKey, retained, ("memoryIndex/x", """{"n":1}"""), ("memoryIndex/y", """{"n":2}"""), ("memoryIndex/z", """{"n":3}"""));
        await GatewayTestKit.WriteAsync(pg, apiKey, retained, ("memoryIndex/s", """{"n":4}"""), ("memoryIndex/w", """{"n":5}"""));
        Assert.Equal(7, await GatewayTestKit.WriteAsync(pg, apiKey, retained, ("memoryIndex/v", """{"n":6}"""), ("memoryIndex/u", """{"n":7}""")));

        var before = await NodeAsync(pgUrl, apiKey, did);
        var retainedBefore = await NodeAsync(pgUrl, apiKey, retained);
        var advertisementBefore = await AdvertisementAsync(pgUrl, did);

        await using var target = new ClusterProcesses(Azurite.ConnectionString, DatabaseKind.Azure);
        var account = target.Azure!;

        // Offline only: while the gateway runs, the copy refuses and writes nothing.
        var (refusedCode, refusedOutput) = await CopyAsync("postgres", database.ConnectionString, account.Prefix);
        Assert.True(refusedCode == 1, refusedOutput);
        Assert.Contains("the source deployment is running", refusedOutput, StringComparison.Ordinal);
        Assert.Equal(new LogBounds(1, 0), await AzureLog(account).GetBoundsAsync(did));

        await pgGateway.TerminateAsync();
        Assert.Equal(0, await pgGateway.WaitForExitAsync(TimeSpan.FromSeconds(90)));
        await using (var data = NpgsqlDataSource.Create(database.ConnectionString))
        {
            var log = new PostgreSqlUpdateLog(data);
            await log.TruncateAsync(retained, 2);
            Assert.Equal(new LogBounds(3, 7), await log.GetBoundsAsync(retained));

            // An interrupted earlier run: one DID's log is on the target already, exactly as the source holds it.
            await AzureLog(account).EnsureCreatedAsync();
            await AzureLog(account).ImportAsync(retained, await LogExport.ReadAsync(log, retained, CancellationToken.None));
        }

        var (code, output) = await CopyAsync("postgres", database.ConnectionString, account.Prefix);
        Assert.True(code == 0, output);
        Assert.Contains($"{retained}: already there", output, StringComparison.Ordinal);
        Assert.Contains($"{did}: copied", output, StringComparison.Ordinal);
        Assert.Contains("2 DIDs (1 copied, 1 already there), 11 updates, 13 documents", output, StringComparison.Ordinal);
        Assert.Contains("verified: 2 DIDs equal on both sides", output, StringComparison.Ordinal);
        Assert.Contains("peer identities: 1", output, StringComparison.Ordinal);
        Assert.Matches(@"spent nonces: [1-9]\d* still within their window", output);
        Assert.Matches(@"grain states \([1-9]\d* copied, 0 already there\)", output);
        Assert.DoesNotContain(AccountKey, output, StringComparison.Ordinal);
        Assert.DoesNotContain("Password", output, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(new LogBounds(3, 7), await AzureLog(account).GetBoundsAsync(retained));

        // Again: everything is there already, nothing is written twice.
        var (againCode, againOutput) = await CopyAsync("postgres", database.ConnectionString, account.Prefix);
        Assert.True(againCode == 0, againOutput);
        Assert.Contains("2 DIDs (0 copied, 2 already there)", againOutput, StringComparison.Ordinal);
        Assert.Matches(@"grain states \(0 copied, \d+ already there\)", againOutput);

        var (_, migrateAzure) = await target.MigrateAsync();
        var azGateway = target.StartGateway("az-gateway", out var azUrl, gatewayName);
        await azGateway.WaitStartedAsync(Start);

        // A target that is serving is not written to.
        var (servingCode, servingOutput) = await CopyAsync("postgres", database.ConnectionString, account.Prefix);
        Assert.True(servingCode == 1, servingOutput);
        Assert.Contains("the target deployment is running", servingOutput, StringComparison.Ordinal);

        // The same node, head and root, read with the tenant's API key from before; the same signed advertisement.
        var after = await NodeAsync(azUrl, apiKey, did);
        Assert.Equal(before["headSeq"]!.GetValue<long>(), after["headSeq"]!.GetValue<long>());
        Assert.Equal(before["root"]!.GetValue<string>(), after["root"]!.GetValue<string>());
        Assert.Equal(retainedBefore["root"]!.GetValue<string>(), (await NodeAsync(azUrl, apiKey, retained))["root"]!.GetValue<string>());
        Assert.Equal(advertisementBefore, await AdvertisementAsync(azUrl, did));

        // The clone catches up from its snapshot's cursor on the new store and verifies every commit to the same root.
        var az = GatewayFixture.At(azUrl);
        var verifier = GatewayTestKit.Verifier(did);
        var replica = new CloneReplica();
        verifier.LoadSnapshot(replica, clone.Snapshot);
        Assert.Equal(3, replica.Cursor);
        using var http = az.CreateClient();
        var (status, page) = await GatewayTestKit.SendAsync(http, az.Signed(clone.Key, HttpMethod.Get, $"/v1/clones/{clone.CloneId}/updates?after={replica.Cursor}&limit=100"));
        Assert.Equal(HttpStatusCode.OK, status);
        GatewayTestKit.Apply(verifier, replica, page!);
        Assert.Equal(6, replica.Cursor);
        Assert.Equal(after["root"]!.GetValue<string>(), replica.Root);

        // The owner's next write commits at the next seq, on both the copied node and the retained one.
        Assert.Equal(7, await GatewayTestKit.WriteAsync(az, apiKey, did, ("memoryIndex/g", """{"n":7}""")));
        Assert.Equal(8, await GatewayTestKit.WriteAsync(az, apiKey, retained, ("memoryIndex/t", """{"n":8}""")));
        Assert.Equal(new LogBounds(3, 8), await AzureLog(account).GetBoundsAsync(retained));
        await azGateway.TerminateAsync();
        await azGateway.WaitForExitAsync(TimeSpan.FromSeconds(90));

        // A target whose log of the DID differs is refused, and that log is left as it was.
        var other = AzureStorageAccount.Parse(Azurite.ConnectionString, Azurite.NewPrefix());
        try
        {
            await other.EnsureCreatedAsync();
            await using var data = NpgsqlDataSource.Create(database.ConnectionString);
            var full = await LogExport.ReadAsync(new PostgreSqlUpdateLog(data), did, CancellationToken.None);
            await AzureLog(other).ImportAsync(did, full with { Documents = [.. full.Documents.Skip(1)] });
            var (conflictCode, conflictOutput) = await CopyAsync("postgres", database.ConnectionString, other.Prefix);
            Assert.True(conflictCode == 1, conflictOutput);
            Assert.Contains($"log of {did}: the target holds", conflictOutput, StringComparison.Ordinal);
            Assert.Equal(full.Documents.Count - 1, (await LogExport.ReadAsync(AzureLog(other), did, CancellationToken.None)).Documents.Count);
        }
        finally
        {
            await AzureAccountFixture.DeleteAllAsync(other);
        }
    }

    [Fact]
    public async Task An_embedded_nodes_SQLite_file_moves_to_Azure_Storage()
    {
        var directory = Directory.CreateTempSubdirectory("vivim-copy-");
        try
        {
            var embedded = HostProcess.Start("Vivim.Gateway", ["--urls", Url(out var url)], new Dictionary<string, string>
            {
                ["Vivim__DataPath"] = directory.FullName,
                ["Vivim__SiloPort"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Vivim__GatewayPort"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Vivim__KeyEncryption__ActiveKeyId"] = "test",
                ["Vivim__KeyEncryption__Keys__test"] = ClusterFixture.TestKek,
            }, "embedded");
            await embedded.WaitStartedAsync(Start);
            var gateway = GatewayFixture.At(url);
            var (_, apiKey) = await gateway.CreateTenantAsync("embedded");
            var did = await gateway.CreateExitNodeAsync(apiKey);
            await GatewayTestKit.WriteAsync(gateway, apiKey, did, ("memoryIndex/a", """{"n":1}"""), ("memoryIndex/b", """{"n":2}"""));
            Assert.Equal(3, await GatewayTestKit.WriteAsync(gateway, apiKey, did, ("memoryIndex/c", """{"n":3}""")));
            var before = await NodeAsync(url, apiKey, did);
            await embedded.TerminateAsync();
            Assert.Equal(0, await embedded.WaitForExitAsync(TimeSpan.FromSeconds(90)));

            await using var target = new ClusterProcesses(Azurite.ConnectionString, DatabaseKind.Azure);
            var (code, output) = await CopyAsync("sqlite", directory.FullName, target.Azure!.Prefix);
            Assert.True(code == 0, output);
            Assert.Contains("verified: 1 DIDs equal on both sides", output, StringComparison.Ordinal);

            var azGateway = target.StartGateway("az-gateway", out var azUrl);
            await azGateway.WaitStartedAsync(Start);
            var after = await NodeAsync(azUrl, apiKey, did);
            Assert.Equal(before["root"]!.GetValue<string>(), after["root"]!.GetValue<string>());
            Assert.Equal(4, await GatewayTestKit.WriteAsync(GatewayFixture.At(azUrl), apiKey, did, ("memoryIndex/d", """{"n":4}""")));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Bad_arguments_are_one_clear_line_and_no_secret()
    {
        var (code, output) = await RunAsync(["copy-storage", "--from", "oracle", "--to", "azure", "--from-connection", "x", "--to-connection", Azurite.ConnectionString]);
        Assert.Equal(2, code);
        Assert.Contains("--from oracle: the source is postgres or sqlite.", output, StringComparison.Ordinal);
        Assert.DoesNotContain(AccountKey, output, StringComparison.Ordinal);

        (code, output) = await RunAsync(["copy-storage", "--from", "sqlite", "--to", "azure", "--from-connection", "/nonexistent-vivim", "--to-connection", Azurite.ConnectionString]);
        Assert.Equal(2, code);
        Assert.Contains("vivim.db does not exist", output, StringComparison.Ordinal);
    }

    /// <summary>The secret part of the test account's connection string: no output may hold it.</summary>
    private static string AccountKey => Azurite.ConnectionString.Split(';').Single(p => p.StartsWith("AccountKey=", StringComparison.Ordinal))["AccountKey=".Length..];

    private static AzureTableUpdateLog AzureLog(AzureStorageAccount account) =>
        new(account.Tables, account.TableName(AzureTableUpdateLog.DefaultTableName));

    private static string Url(out Uri url)
    {
        url = new Uri("http://127.0.0.1:" + FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture));
        return url.ToString();
    }

    /// <summary>The copy with both connections in the environment, as docs/azure.md runs it.</summary>
    private static Task<(int Code, string Output)> CopyAsync(string from, string fromConnection, string prefix) =>
        RunAsync(["copy-storage", "--from", from, "--to", "azure", "--to-prefix", prefix], new Dictionary<string, string>
        {
            ["VIVIM_COPY_FROM"] = fromConnection,
            ["VIVIM_COPY_TO"] = Azurite.ConnectionString,
        });

    private static async Task<(int Code, string Output)> RunAsync(string[] arguments, Dictionary<string, string>? environment = null)
    {
        await using var tool = HostProcess.Start("Vivim.Silo", arguments, environment, "copy-storage");
        var code = await tool.WaitForExitAsync(TimeSpan.FromMinutes(5));
        return (code, tool.Output);
    }

    private static async Task<JsonNode> NodeAsync(Uri baseAddress, string apiKey, string did)
    {
        using var owner = GatewayFixture.At(baseAddress).CreateClient(apiKey);
        return JsonNode.Parse(await owner.GetStringAsync($"/v1/exit-nodes/{did}"))!;
    }

    private static async Task<string> AdvertisementAsync(Uri baseAddress, string did)
    {
        using var anonymous = GatewayFixture.At(baseAddress).CreateClient();
        return await anonymous.GetStringAsync($"/v1/exit-nodes/{did}/advertisement");
    }
}
