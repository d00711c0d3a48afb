using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Vivim.Anchors;
using Vivim.Client.Http;
using Vivim.Client.P2p;
using Vivim.Client.Replica;
using Vivim.Client.Sync;
using Vivim.ExitNodes;
using Vivim.Gateway.P2p.Gossip;
using Vivim.Libp2p.Core;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;
using Vivim.Tests.Gateway;
using Vivim.Tests.Support;
using static Vivim.Tests.Client.P2p.P2pCloneTestKit;
using static Vivim.Tests.Gateway.GatewayTestKit;

namespace Vivim.Tests.Client.P2p;

/// <summary>
/// A <c>Vivim.Client</c> clone that knows a DID and the gateway's libp2p address only (<see cref="P2pClone"/>): finds the
/// exit node on the DHT, registers over <c>/vivim/clone</c> with its DID key as its libp2p identity, and stays current
/// from GossipSub notices and <c>/vivim/sync</c> pulls, every commit verified and every root reproduced; writes back
/// when it may; fills a lost notice by its periodic pull; resumes from its replica on disk, over libp2p or HTTP.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class P2pCloneTests(GatewayFixture gateway) : IAsyncLifetime
{
    private readonly DirectoryInfo _home = Directory.CreateTempSubdirectory("vivim-p2p-clones-");
    private string _apiKey = string.Empty;
    private string _did = string.Empty;


    private static SyncConfig NoPeriodicSync => new(SyncInterval: 3_600_000, MaxBatchSize: 50);

    public async Task InitializeAsync()
    {
        (_, _apiKey) = await gateway.CreateTenantAsync("p2p-clones");
        _did = await gateway.CreateExitNodeAsync(_apiKey);
        await gateway.ServedOnLibp2pAsync(_did);
    }

    public Task DisposeAsync()
    {
        _home.Delete(recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_clone_that_knows_only_the_DID_and_a_bootstrap_address_discovers_registers_and_follows_1000_owner_writes_live()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var ct = cts.Token;
        using var key = SigningKey.Generate();
        var bootstrap = await BootstrapAsync(ct);
        var (clone, registration) = await P2pClone.RegisterAsync(bootstrap, _did, key, _home.FullName, config: NoPeriodicSync, syncOptions: LiveOnly, cancellationToken: ct);
        await using var owned = clone;
        Assert.True(registration.Snapshot.All, registration.Snapshot.ToString());
        Assert.Equal(bootstrap[0].PeerId, clone.Transport.Gateway.PeerId);

        // Before the first sync the gateway reports lastSyncAt 0 and the root at the registration's cursor.
        var registered = await clone.Transport.GetStatusAsync(ct);
        Assert.Equal(0, registered.Status.LastSyncAt);
        Assert.Equal(clone.Sync.Replica.Root, registered.Status.StateHash);

        var events = new EventLog(clone.Sync);
        var start = clone.Sync.Replica.Cursor;
        await clone.StartAsync(ct);
        await PublishingAsync();

        long head = 0;
        for (var batch = 0; batch < 100; batch++)
        {
            head = await WriteAsync(gateway, _apiKey, _did, [.. Enumerable.Range(0, 10).Select(i => ($"memoryIndex/p2p/{batch}-{i}", $$"""{"batch":{{batch}},"i":{{i}}}"""))]);
        }

        await Until.TrueAsync(() => clone.Sync.Replica.Cursor == head, () => $"the clone is at {clone.Sync.Replica.Cursor}, the head is {head}; events: {string.Join(", ", events.Names.TakeLast(10))}");
        Assert.Equal(start + 1000, head);
        var applied = events.All<UpdateAppliedEventArgs>().Select(e => e.Update.Seq!.Value).ToList();
        Assert.Equal(Enumerable.Range((int)start + 1, 1000).Select(s => (long)s), applied);
        Assert.All(events.All<UpdateAppliedEventArgs>(), e => Assert.True(e.Success));
        Assert.DoesNotContain(SyncEventNames.SyncFailed, events.Names);
        Assert.Equal(await AnchorRootAsync(), clone.Sync.Replica.Root);

        // The gateway's status over /vivim/sync: the acknowledged cursor with the root the anchor committed there.
        await Until.TrueAsync(async () => (await clone.Transport.GetStatusAsync(ct)).Cursor == head, () => "the cursor was never acknowledged");
        var status = await clone.Transport.GetStatusAsync(ct);
        Assert.Equal(clone.Sync.Replica.Root, status.Status.StateHash);
        Assert.True(status.Status.LastSyncAt > 0);
        Assert.Equal(0, status.Status.PendingUpdates);
    }

    [Fact]
    public async Task A_clone_writes_over_libp2p_only_once_granted_write_and_receives_its_write_back_verified()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = cts.Token;
        using var key = SigningKey.Generate();
        var (clone, _) = await P2pClone.RegisterAsync(await BootstrapAsync(ct), _did, key, _home.FullName, config: NoPeriodicSync, syncOptions: LiveOnly, cancellationToken: ct);
        await using var owned = clone;
        await clone.StartAsync(ct);
        await PublishingAsync();

        var refused = await clone.Writer.SubmitAsync(UpdateType.Memory, UpdateOperation.Create, "memoryIndex/p2p/refused", new RawJson("""{"by":"clone"}"""), cancellationToken: ct);
        Assert.Equal(SubmitOutcome.Forbidden, refused.Outcome);
        Assert.Equal(RejectionCodes.WriteForbidden, Assert.Single(refused.Rejections).Code);

        await gateway.Grains.GetGrain<IExitNodeGrain>(_did).AsOperator(gateway, n => n.DelegateTrustAsync(clone.CloneId, TrustLevel.Secondary, ["read", "write"]));
        var written = await clone.Writer.SubmitAsync(UpdateType.Memory, UpdateOperation.Create, "memoryIndex/p2p/written", new RawJson("""{"by":"clone"}"""), cancellationToken: ct);
        Assert.Equal(SubmitOutcome.Committed, written.Outcome);
        var seq = written.Receipts[0].Seq;

        await Until.TrueAsync(() => clone.Sync.Replica.Cursor >= seq, () => $"the clone's own write (seq {seq}) never came back; it is at {clone.Sync.Replica.Cursor}");
        Assert.True(clone.Sync.Replica.TryGetDocument("memoryIndex/p2p/written", out var document));
        Assert.Equal("""{"by":"clone"}""", document.Text);
        Assert.False(clone.Sync.Replica.TryGetDocument("memoryIndex/p2p/refused", out _));
        Assert.Equal(await AnchorRootAsync(), clone.Sync.Replica.Root);
    }

    [Fact]
    public async Task A_lost_notice_is_filled_by_the_periodic_pull_and_a_reopened_clone_resumes_over_libp2p_or_http_with_no_gap_and_no_duplicate()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = cts.Token;
        using var key = SigningKey.Generate();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = new SyncOptions { ReconcileInterval = TimeSpan.FromHours(1), TimeProvider = time };
        var config = new SyncConfig(SyncInterval: 60_000, MaxBatchSize: 50);
        var (clone, _) = await P2pClone.RegisterAsync(await BootstrapAsync(ct), _did, key, _home.FullName, config: config, syncOptions: options, cancellationToken: ct);
        var directory = clone.Directory;
        try
        {
            await clone.StartAsync(ct);

            // The notices are lost (the clone left the topic); only the periodic pull can bring the writes.
            clone.Node.Pubsub.Unsubscribe(clone.Transport.Topic);
            var head = await WriteAsync(gateway, _apiKey, _did, ("memoryIndex/lost/1", "{}"), ("memoryIndex/lost/2", "{}"));
            await Until.TrueAsync(() =>
            {
                time.Advance(TimeSpan.FromMilliseconds(config.SyncInterval));
                return clone.Sync.Replica.Cursor == head;
            }, () => $"the periodic pull never brought seq {head}; the clone is at {clone.Sync.Replica.Cursor}");
        }
        finally
        {
            await clone.DisposeAsync();
        }

        var saved = await ReopenOverLibp2pAsync(directory, key, ct);
        var viaHttp = await WriteAsync(gateway, _apiKey, _did, ("memoryIndex/http/1", "{}"));

        // The same replica over HTTP: a clone registered over libp2p names the gateway's URL to switch.
        await using var overHttp = RemoteClone.Open(directory, key, gateway: gateway.BaseAddress);
        Assert.True(overHttp.ResumedFromDisk);
        Assert.Equal(saved, overHttp.Sync.Replica.Cursor);
        var events = new EventLog(overHttp.Sync);
        await overHttp.Sync.SyncNowAsync(ct);
        Assert.Equal([viaHttp], events.All<UpdateAppliedEventArgs>().Select(e => e.Update.Seq!.Value));
        Assert.Equal(await AnchorRootAsync(), overHttp.Sync.Replica.Root);
        var status = await overHttp.Transport.GetStatusAsync(ct);
        Assert.Equal(viaHttp, status.Cursor);
        Assert.Equal(overHttp.Sync.Replica.Root, status.Status.StateHash);
    }

    [Fact]
    public async Task A_denial_over_libp2p_carries_the_SDKs_reason_and_leaves_nothing_on_disk()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var ct = cts.Token;
        var closed = await gateway.CreateExitNodeAsync(_apiKey, new System.Text.Json.Nodes.JsonObject { ["policy"] = new System.Text.Json.Nodes.JsonObject { ["allowMigration"] = false } });
        using var key = SigningKey.Generate();
        var bootstrap = await BootstrapAsync(ct);
        var denied = await Assert.ThrowsAsync<CloneRegistrationException>(() =>
            P2pClone.RegisterAsync(bootstrap, closed, key, _home.FullName, migrationType: MigrationType.Relay, cancellationToken: ct));
        Assert.Equal("Migration not allowed", denied.Reason);
        Assert.Empty(Directory.GetDirectories(_home.FullName));
    }

    /// <summary>Reopens the clone over libp2p after writes it missed: it catches up from its saved cursor; returns the new cursor.</summary>
    private async Task<long> ReopenOverLibp2pAsync(string directory, SigningKey key, CancellationToken ct)
    {
        Assert.Equal(StoredRegistration.Libp2pTransport, StoredRegistration.Load(directory)!.Transport);
        var missed = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            missed.Add(await WriteAsync(gateway, _apiKey, _did, ($"memoryIndex/missed/{i}", "{}")));
        }

        await using var reopened = await P2pClone.OpenAsync(directory, key, NoPeriodicSync, LiveOnly, cancellationToken: ct);
        Assert.True(reopened.ResumedFromDisk);
        Assert.Equal(missed[0] - 1, reopened.Sync.Replica.Cursor);
        var events = new EventLog(reopened.Sync);
        await reopened.StartAsync(ct);
        Assert.Equal(missed, events.All<UpdateAppliedEventArgs>().Select(e => e.Update.Seq!.Value));
        Assert.Equal(await AnchorRootAsync(), reopened.Sync.Replica.Root);
        return reopened.Sync.Replica.Cursor;
    }

    private Task<IReadOnlyList<Multiaddr>> BootstrapAsync(CancellationToken ct) => P2pCloneTestKit.BootstrapAsync(gateway, ct);

    /// <summary>The gateway publishes a DID's commits once it has seen a subscriber; notices before that are not sent.</summary>
    private Task PublishingAsync()
    {
        var publisher = gateway.Services.GetRequiredService<CommitPublisher>();
        return Until.TrueAsync(() => publisher.PublishingDids.Contains(_did), () => "the gateway never started publishing the DID's commits");
    }

    private Task<string> AnchorRootAsync() => P2pCloneTestKit.AnchorRootAsync(gateway, _did);
}
