using System.Globalization;
using Vivim.Client.P2p;
using Vivim.Client.Sync;
using Vivim.Libp2p.Core;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Tests.Cli;
using Vivim.Tests.Durability;
using Vivim.Tests.Libp2p;
using Vivim.Tests.Support;

namespace Vivim.Tests.Client.P2p;

/// <summary>
/// A .NET clone on libp2p against gateway processes: <c>vivim demo --p2p</c> runs the Complete Example; a clone survives
/// its gateway's restart (same data, same peer identity) and, in a two-gateway cluster, its gateway being SIGKILLed (it
/// looks the DID up again and goes on with the new owner), each time with no gap and no duplicate.
/// </summary>
public sealed class P2pCloneProcessTests : IAsyncLifetime
{
    private readonly DirectoryInfo _home = Directory.CreateTempSubdirectory("vivim-p2p-process-");
    private TestDatabase? _database;

    // Head checks every second: a clone must find its way back without a notice.
    private static SyncOptions Reconciling => new() { ReconcileInterval = TimeSpan.FromSeconds(1) };

    private static SyncConfig NoPeriodicSync => new(SyncInterval: 3_600_000, MaxBatchSize: 100);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }

        _home.Delete(recursive: true);
    }

    [Fact]
    public async Task Vivim_demo_p2p_runs_against_a_gateway_process_and_a_clone_survives_the_gateways_restart_with_no_gap_and_no_duplicate()
    {
        using var cts = TestUtil.InteropTimeout();
        var ct = cts.Token;
        // The same libp2p port after the restart, as a node keeps its address (the peer identity is kept in its data).
        var (arguments, baseAddress) = GatewayArguments("p2p-restart", FreePort.Next());
        var gateway = await StartGatewayAsync(arguments, "gateway");
        try
        {

            using (var vivim = new VivimSandbox())
            {
                var demo = await vivim.RunAsync("demo", "--p2p", "--gateway", baseAddress.ToString(), "--operator-key", GatewayFixture.TestOperatorKey);
                Assert.True(demo.ExitCode == 0, demo.ToString());
                foreach (var expected in new[]
                {
                    "exit node found on the DHT: provider /ip4/127.0.0.1/tcp/", "advertisement verified", "snapshot as we check it: v2 proof ok",
                    "syncing live over libp2p", "update:applied seq=2 memoryIndex/notes/1 success=true", "sync:completed", "the clone's root equals the parent's",
                })
                {
                    Assert.True(demo.Stdout.Contains(expected, StringComparison.Ordinal), $"missing '{expected}' in\n{demo}");
                }

                Assert.DoesNotContain("sync:failed", demo.Stdout, StringComparison.Ordinal);
            }

            var api = GatewayFixture.At(baseAddress);
            var (_, apiKey) = await api.CreateTenantAsync("restart");
            var did = await api.CreateExitNodeAsync(apiKey);
            var (peer, address) = await GatewayFailoverProcessTests.P2pAsync(baseAddress);
            using var key = SigningKey.Generate();
            var (clone, _) = await P2pClone.RegisterAsync([Multiaddr.Parse(address)], did, key, _home.FullName, config: NoPeriodicSync, syncOptions: Reconciling, cancellationToken: ct);
            await using var owned = clone;
            var events = new EventLog(clone.Sync);
            var start = clone.Sync.Replica.Cursor;
            await clone.StartAsync(ct);
            // 1,000 owner writes over HTTP (100 commits of 10), followed live: every commit verified, every root reproduced.
            var before = await WriteAsync(api, apiKey, did, "before", 100, perCommit: 10);
            await Until.TrueAsync(() => clone.Sync.Replica.Cursor == before, () => $"the clone is at {clone.Sync.Replica.Cursor} before the restart, the head is {before}");

            await gateway.TerminateAsync();
            Assert.Equal(0, await gateway.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            await gateway.DisposeAsync();
            gateway = await StartGatewayAsync(arguments, "gateway-again");
            Assert.Equal(peer, (await GatewayFailoverProcessTests.P2pAsync(baseAddress)).PeerId);

            var after = await WriteAsync(api, apiKey, did, "after", 20);
            await Until.TrueAsync(() => clone.Sync.Replica.Cursor == after, () => $"the clone is at {clone.Sync.Replica.Cursor} after the restart, the head is {after}: {string.Join(" | ", events.Events.TakeLast(8).Select(e => e.Name + " " + EventText(e)))}");
            Assert.Equal(start + 1020, after);
            Assert.Equal(Enumerable.Range((int)start + 1, (int)(after - start)).Select(s => (long)s), events.All<UpdateAppliedEventArgs>().Select(e => e.Update.Seq!.Value));
            Assert.All(events.All<UpdateAppliedEventArgs>(), e => Assert.True(e.Success));
            Assert.Equal(await RootAsync(api, apiKey, did), clone.Sync.Replica.Root);
        }
        finally
        {
            await gateway.DisposeAsync();
        }
    }

    [Fact]
    public async Task Vivim_registers_syncs_and_serves_a_relay_over_libp2p_and_a_second_clone_registers_and_syncs_through_the_relay()
    {
        using var cts = TestUtil.InteropTimeout();
        var ct = cts.Token;
        var (arguments, baseAddress) = GatewayArguments("p2p-cli", FreePort.Next());
        await using var gateway = await StartGatewayAsync(arguments, "gateway");
        var api = GatewayFixture.At(baseAddress);
        var (_, apiKey) = await api.CreateTenantAsync("cli-p2p");
        var did = await api.CreateExitNodeAsync(apiKey, new System.Text.Json.Nodes.JsonObject { ["policy"] = new System.Text.Json.Nodes.JsonObject { ["allowMigration"] = true } });
        var environment = new Dictionary<string, string> { ["VIVIM_GATEWAY"] = baseAddress.ToString() };

        // The relay: registered over libp2p (bootstrapping from the gateway's own peer), then serving.
        using var relayHome = new VivimSandbox();
        var registered = await relayHome.RunAsync(environment, "clone", "register", "--p2p", "--relay", did);
        Assert.True(registered.ExitCode == 0, registered.ToString());
        Assert.Contains("registered over libp2p via /ip4/127.0.0.1/tcp/", registered.Stderr, StringComparison.Ordinal);
        var relayPort = FreePort.Next();
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(VivimProcess.DllPath);
        foreach (var arg in new[] { "clone", "serve", "--listen", $"/ip4/127.0.0.1/tcp/{relayPort}" })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["VIVIM_HOME"] = relayHome.Home;
        start.Environment["VIVIM_GATEWAY"] = baseAddress.ToString();
        await using var serving = HostProcess.Launch("vivim-serve", start);
        await serving.WaitForOutputAsync($"relay of {did} at /ip4/127.0.0.1/tcp/{relayPort}/p2p/", TimeSpan.FromSeconds(60));
        var relayAddress = serving.Output.Split('\n').First(l => l.StartsWith($"relay of {did} at ", StringComparison.Ordinal))[$"relay of {did} at ".Length..].Trim();

        // A second machine knows only the relay: it registers and syncs through it.
        using var cloneHome = new VivimSandbox();
        var through = await cloneHome.RunAsync(environment, "clone", "register", "--through", relayAddress, did);
        Assert.True(through.ExitCode == 0, through.ToString());
        var seq = await Gateway.GatewayTestKit.WriteAsync(api, apiKey, did, ("memoryIndex/cli/relayed", """{"via":"relay"}"""));
        await serving.WaitForOutputAsync($"update:applied seq={seq} memoryIndex/cli/relayed success=true", TimeSpan.FromSeconds(60));
        var synced = await cloneHome.RunAsync(environment, "clone", "sync", "--once");
        Assert.True(synced.ExitCode == 0, synced.ToString());
        Assert.Contains($"update:applied seq={seq} memoryIndex/cli/relayed success=true", synced.Stdout, StringComparison.Ordinal);
        var status = await cloneHome.RunAsync(environment, "clone", "status");
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Contains("libp2p", status.Stdout, StringComparison.Ordinal);
        Assert.Contains(relayAddress, status.Stdout.ReplaceLineEndings(string.Empty).Replace(" ", string.Empty, StringComparison.Ordinal).Replace("│", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);

        // An unreachable relay is one clear line and a non-zero exit.
        var refused = await cloneHome.RunAsync(environment, "clone", "register", "--through", $"/ip4/127.0.0.1/tcp/{FreePort.Next()}/p2p/{relayAddress.Split("/p2p/")[1]}", did);
        Assert.Equal(1, refused.ExitCode);
        Assert.Single(refused.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public async Task A_clone_whose_gateway_is_SIGKILLed_in_a_two_gateway_cluster_finds_the_new_owner_and_resumes_with_no_gap_and_no_duplicate()
    {
        using var cts = TestUtil.InteropTimeout();
        var ct = cts.Token;
        _database = await Postgres.CreateDatabaseAsync();
        await using var cluster = await TwoGatewayCluster.StartAsync(_database.ConnectionString);
        var api = GatewayFixture.At(cluster.SurvivorUrl);
        var (doomedPeer, doomedAddress) = await GatewayFailoverProcessTests.P2pAsync(cluster.DoomedUrl);
        var (survivorPeer, survivorAddress) = await GatewayFailoverProcessTests.P2pAsync(cluster.SurvivorUrl);
        var (_, apiKey) = await api.CreateTenantAsync("clone-failover");

        // An exit node the doomed gateway serves (rendezvous hashing splits them).
        string did;
        var tries = 0;
        do
        {
            Assert.True(tries++ < 40, "40 DIDs and none served by the first gateway: ownership is not split");
            did = await api.CreateExitNodeAsync(apiKey);
        }
        while (await GatewayFailoverProcessTests.AdvertisedPeerAsync(api, did, p => p == doomedPeer || p == survivorPeer) != doomedPeer);

        // The clone knows both gateways as bootstrap peers; the DHT names the doomed one as the DID's provider.
        using var key = SigningKey.Generate();
        var (clone, _) = await P2pClone.RegisterAsync(
            [Multiaddr.Parse(doomedAddress), Multiaddr.Parse(survivorAddress)], did, key, _home.FullName, config: NoPeriodicSync, syncOptions: Reconciling, cancellationToken: ct);
        await using var owned = clone;
        Assert.Equal(doomedPeer, clone.Transport.Gateway.PeerId?.ToString());
        var moved = new TaskCompletionSource<Multiaddr>(TaskCreationOptions.RunContinuationsAsynchronously);
        clone.Transport.GatewayChanged += (_, peer) => moved.TrySetResult(peer);
        var events = new EventLog(clone.Sync);
        var start = clone.Sync.Replica.Cursor;
        await clone.StartAsync(ct);
        var before = await WriteAsync(api, apiKey, did, "before", 10);
        await Until.TrueAsync(() => clone.Sync.Replica.Cursor == before, () => $"the clone is at {clone.Sync.Replica.Cursor} before the kill, the head is {before}");

        await cluster.Doomed.KillAsync();
        var gap = await GatewayFailoverProcessTests.WriteRetryingAsync(api, apiKey, did, "clone-failover-gap");
        var newGateway = await MovedAsync(moved.Task, clone, did, events, cluster, ct);
        Assert.Equal(survivorPeer, newGateway.PeerId?.ToString());

        var after = await WriteAsync(api, apiKey, did, "after", 10);
        Assert.True(after > gap);
        await Until.TrueAsync(() => clone.Sync.Replica.Cursor == after, () => $"the clone is at {clone.Sync.Replica.Cursor} after the kill, the head is {after}: {string.Join(" | ", events.Events.TakeLast(8).Select(e => e.Name + " " + EventText(e)))}");
        Assert.Equal(Enumerable.Range((int)start + 1, (int)(after - start)).Select(s => (long)s), events.All<UpdateAppliedEventArgs>().Select(e => e.Update.Seq!.Value));
        Assert.Equal(await RootAsync(api, apiKey, did), clone.Sync.Replica.Root);
        Assert.Equal(survivorAddress, clone.Registration.Peer);
    }

    /// <summary>The clone's new gateway; on a timeout, what the clone and the survivor saw, so a failure explains itself.</summary>
    private static async Task<Multiaddr> MovedAsync(Task<Multiaddr> moved, P2pClone clone, string did, EventLog events, TwoGatewayCluster cluster, CancellationToken ct)
    {
        try
        {
            return await moved.WaitAsync(Until.Patience * 2, ct);
        }
        catch (TimeoutException e)
        {
            var key = Vivim.Protocol.Discovery.DiscoveryKeys.ExitNode(did);
            var local = string.Join(", ", clone.Node.Dht.Providers.Get(key).Select(p => p.Peer.ToString()));
            string found;
            try
            {
                using var lookup = CancellationTokenSource.CreateLinkedTokenSource(ct);
                lookup.CancelAfter(TimeSpan.FromSeconds(20));
                found = string.Join(", ", (await clone.Node.Dht.FindProvidersAsync(key, 20, lookup.Token)).Select(p => p.Peer + " " + string.Join(" ", p.Addresses)));
            }
            catch (Exception lookupError) when (lookupError is not OutOfMemoryException)
            {
                found = lookupError.GetType().Name + ": " + lookupError.Message;
            }

            var survivor = string.Join('\n', cluster.Survivor.Output.Split('\n').Where(l => l.Contains("ownership", StringComparison.Ordinal) || l.Contains("nnounc", StringComparison.Ordinal) || l.Contains("fail", StringComparison.OrdinalIgnoreCase)).TakeLast(30));
            throw new TimeoutException(
                $"the clone stayed with {clone.Transport.Gateway} for {(Until.Patience * 2).TotalSeconds:0} s after the kill. Routing table: {clone.Node.Dht.RoutingTable.Count} peers; " +
                $"local providers: [{local}]; a lookup now: [{found}]. Last sync events: {string.Join(" | ", events.Events.TakeLast(12).Select(ev => ev.Name + " " + EventText(ev)))}. " +
                $"The survivor said:\n{survivor}", e);
        }
    }

    private static string EventText(SyncEventArgs e) => e switch
    {
        SyncErrorEventArgs error => error.Error.GetType().Name + ": " + error.Error.Message,
        SyncFailedEventArgs failed => failed.Error.Message,
        _ => string.Empty,
    };

    /// <summary>An embedded gateway's command line (data under this test's directory), its libp2p peer on <paramref name="p2pPort"/>.</summary>
    private (string[] Arguments, Uri BaseAddress) GatewayArguments(string cluster, int p2pPort)
    {
        var baseAddress = new Uri("http://127.0.0.1:" + FreePort.Next().ToString(CultureInfo.InvariantCulture));
        var data = Path.Combine(_home.FullName, cluster + "-data");
        string[] arguments =
        [
            .. GatewayFixture.Arguments(baseAddress, data, cluster + "-" + Guid.NewGuid().ToString("N")[..8]).Where(a => !a.StartsWith("--Vivim:P2p:Listen", StringComparison.Ordinal)),
            "--Vivim:P2p:Listen:0=/ip4/127.0.0.1/tcp/" + p2pPort.ToString(CultureInfo.InvariantCulture),
        ];
        return (arguments, baseAddress);
    }

    private static async Task<HostProcess> StartGatewayAsync(string[] arguments, string name)
    {
        var gateway = HostProcess.Start("Vivim.Gateway", arguments, name: name);
        try
        {
            await gateway.WaitStartedAsync(TimeSpan.FromSeconds(120));
            return gateway;
        }
        catch
        {
            await gateway.DisposeAsync();
            throw;
        }
    }

    /// <summary><paramref name="count"/> owner write requests of <paramref name="perCommit"/> updates each; returns the last seq.</summary>
    private static async Task<long> WriteAsync(GatewayFixture api, string apiKey, string did, string label, int count, int perCommit = 1)
    {
        long seq = 0;
        for (var i = 0; i < count; i++)
        {
            seq = await Gateway.GatewayTestKit.WriteAsync(api, apiKey, did, [.. Enumerable.Range(0, perCommit).Select(j => ($"memoryIndex/{label}/{i}-{j}", $$"""{"i":{{i}},"j":{{j}}}"""))]);
        }

        return seq;
    }

    private static async Task<string> RootAsync(GatewayFixture api, string apiKey, string did)
    {
        using var tenant = new Vivim.Client.Http.TenantClient(api.BaseAddress, apiKey);
        return (await tenant.GetExitNodeAsync(did)).Root;
    }
}
