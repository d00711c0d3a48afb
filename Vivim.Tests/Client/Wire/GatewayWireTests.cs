using Vivim.Client.Http;
using Vivim.Client.Replica;
using Vivim.Client.Sync;
using Vivim.Client.Transports;
using Vivim.ExitNodes;
using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;
using Vivim.Tests.Gateway;
using Vivim.Tests.Support;

namespace Vivim.Tests.Client.Wire;

/// <summary>
/// The clone SDK against the real gateway (Kestrel on loopback, SQLite, the WebSocket channel): registration,
/// verified snapshot, live sync with acknowledgements, writes by the owner and by another clone, reconnection from
/// the cursor, a restart from the on-disk replica, suspension and the browser ticket.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class GatewayWireTests(GatewayFixture gateway) : IAsyncLifetime
{
    private readonly DirectoryInfo _home = Directory.CreateTempSubdirectory("vivim-clones-");
    private readonly List<IAsyncDisposable> _clones = [];
    private string _tenantId = string.Empty;
    private TenantClient _tenant = null!;
    private HttpClient _checked = null!; // the operator's and tenant's calls, checked against the OpenAPI document
    private string _did = string.Empty;

    // Live sync only through the WebSocket: no periodic pulls or head checks that would hide a broken channel.
    private static SyncOptions LiveOnly => new() { VerifyAuthorSignatures = true, ReconcileInterval = TimeSpan.FromHours(1) };

    public async Task InitializeAsync()
    {
        _checked = gateway.CreateClient();
        using var operatorClient = new OperatorClient(gateway.BaseAddress, gateway.OperatorKey, _checked);
        (_tenantId, var apiKey) = await operatorClient.CreateTenantAsync("wire");
        _tenant = new TenantClient(gateway.BaseAddress, apiKey, _checked);
        (_did, var advertisement) = await _tenant.CreateExitNodeAsync(
            ["storage", "memory", "identity", "content"], new ExitNodePolicy(MaxClones: 50, AllowMigration: true, RequireVerification: true));
        Assert.Equal(50, advertisement.Policy.MaxClones);
        await WriteAsync(("identity/profile", """{"name":"Ada"}"""));
    }

    public async Task DisposeAsync()
    {
        foreach (var clone in _clones)
        {
            await clone.DisposeAsync();
        }

        using var operatorClient = new OperatorClient(gateway.BaseAddress, gateway.OperatorKey, _checked);
        await operatorClient.DeleteTenantAsync(_tenantId);
        _tenant.Dispose();
        _checked.Dispose();
        _home.Delete(recursive: true);
    }

    [Fact]
    public async Task A_clone_follows_writes_of_the_owner_and_of_another_clone_live_over_the_websocket_verifying_everything()
    {
        using var readerKey = SigningKey.Generate();
        var (reader, registration) = await RegisterAsync(readerKey, new SyncConfig(SyncInterval: 3_600_000, MaxBatchSize: 50, Compression: true));
        Assert.True(registration.Snapshot.All, registration.Snapshot.ToString());
        Assert.Equal(1, reader.Sync.Replica.Cursor);
        Assert.True(reader.Sync.Replica.TryGetDocument("identity/profile", out _));

        using var writerKey = SigningKey.Generate();
        var (writer, _) = await RegisterAsync(writerKey);
        // The API has no call to grant write; an operator tool does it in the cluster.
        await gateway.Grains.GetGrain<IExitNodeGrain>(_did).AsOperator(gateway, n => n.DelegateTrustAsync(writer.CloneId, TrustLevel.Secondary, ["read", "write"]));

        var events = new EventLog(reader.Sync);
        await reader.StartAsync();
        Assert.True(reader.Transport.IsLiveConnected);

        await WriteAsync(("memoryIndex/notes/1", """{"text":"by owner"}"""), ("contentManifest/posts/1", """{"cid":"bafy"}"""));
        var byClone = await writer.Writer.SubmitAsync(UpdateType.Memory, UpdateOperation.Create, "memoryIndex/notes/2", new RawJson("""{"text":"by clone"}"""));
        Assert.Equal(SubmitOutcome.Committed, byClone.Outcome);
        Assert.Equal(4, byClone.Receipts[0].Seq);

        await Until.TrueAsync(() => reader.Sync.Replica.Cursor >= 4, () => string.Join(", ", events.Names));
        var node = await _tenant.GetExitNodeAsync(_did);
        Assert.Equal(node.Root, reader.Sync.Replica.Root);
        Assert.True(reader.Sync.Replica.TryGetDocument("memoryIndex/notes/2", out var written));
        Assert.Equal("""{"text":"by clone"}""", written.Text);
        Assert.Equal(writerKey.Did.Value, events.All<UpdateAppliedEventArgs>().Single(e => e.Update.Seq == 4).Update.SourceDid);
        Assert.Equal([2L, 3L, 4L], events.All<UpdateAppliedEventArgs>().Select(e => e.Update.Seq!.Value));
        Assert.All(events.All<UpdateAppliedEventArgs>(), e => Assert.True(e.Success));
        Assert.DoesNotContain(SyncEventNames.SyncFailed, events.Names);
        Assert.Equal(1, reader.Transport.LiveConnections);
        Assert.True(reader.Sync.GetStatus().Connected);

        // The owner's read proves the clone's write under the same root (the proof is checked by the client).
        var proof = await _tenant.GetDocumentAsync(_did, "memoryIndex/notes/2");
        Assert.Equal(node.Root, proof!.Root);

        // The parent sees the reader connected, with the cursor it acknowledged over the socket.
        await Until.TrueAsync(async () => (await _tenant.ListClonesAsync(_did)).Single(c => c.CloneId == reader.CloneId) is { Connected: true, Cursor: 4 }, () => "cursor not acknowledged");
    }

    [Fact]
    public async Task A_websocket_cut_mid_stream_reconnects_and_resumes_from_its_cursor_with_no_gap_and_no_duplicate()
    {
        await using var proxy = new CuttableProxy(gateway.BaseAddress);
        using var key = SigningKey.Generate();
        var (registered, _) = await RegisterAsync(key);
        var directory = registered.Directory;
        await registered.DisposeAsync();
        _clones.Remove(registered);

        // The same clone, reaching the gateway through a relay that the test can cut.
        var clone = Track(RemoteClone.Open(directory, key, new SyncConfig(SyncInterval: 3_600_000, MaxBatchSize: 5), LiveOnly,
            new HttpSyncTransportOptions { ReconnectInitialDelay = TimeSpan.FromMilliseconds(50), ReconnectMaxDelay = TimeSpan.FromMilliseconds(400) }, gateway: proxy.Address));
        var events = new EventLog(clone.Sync);
        var sessions = new List<LiveSessionEventArgs>();
        clone.Transport.SessionEvent += (_, e) =>
        {
            lock (sessions)
            {
                sessions.Add(e);
            }
        };
        // The handler runs on the transport's threads while the test reads: every read of the list takes its lock.
        string Sessions()
        {
            lock (sessions)
            {
                return string.Join(" | ", sessions);
            }
        }

        await clone.StartAsync();

        long head = 1;
        long cutAt = 1;
        var connectionsAtCut = 0;
        var cuts = 0;
        for (var round = 0; round < 12; round++)
        {
            head = await WriteAsync(
                ($"memoryIndex/cut/{round}/a", $$"""{"round":{{round}}}"""),
                ($"memoryIndex/cut/{round}/b", $$"""{"round":{{round}}}"""),
                ($"memoryIndex/cut/{round}/c", $$"""{"round":{{round}}}"""));
            if (round is 3 or 8)
            {
                // Cut while connected and mid-stream: after something arrived on a connection made since the last cut
                // (more than one may have been made, e.g. when a reconnection raced the cut), before the rest.
                var cutConnections = connectionsAtCut;
                var previous = cutAt;
                await Until.TrueAsync(() => clone.Transport.LiveConnections > cutConnections && clone.Transport.IsLiveConnected && clone.Sync.Replica.Cursor > previous, () => $"no connection after the {cuts} cut(s) delivered anything");
                cutAt = clone.Sync.Replica.Cursor;
                connectionsAtCut = clone.Transport.LiveConnections;
                proxy.CutAll();
                cuts++;
            }
        }

        await Until.TrueAsync(() => clone.Sync.Replica.Cursor >= head, () => $"at {clone.Sync.Replica.Cursor} of {head}; {Sessions()}");
        var applied = events.All<UpdateAppliedEventArgs>().Select(e => e.Update.Seq!.Value).ToList();
        Assert.Equal(Enumerable.Range(2, (int)head - 1).Select(i => (long)i), applied); // every seq once, in order
        Assert.All(events.All<UpdateAppliedEventArgs>(), e => Assert.True(e.Success));
        Assert.True(clone.Transport.LiveConnections >= 3, Sessions());
        LiveSessionEventArgs[] connects;
        lock (sessions)
        {
            connects = [.. sessions.Where(s => s.Kind == LiveSessionEventArgs.Connected)];
        }

        // Each reconnection's hello resumed from the cursor the clone had reached, not from the start.
        Assert.True(connects.Skip(1).All(c => c.Cursor > 1), string.Join(" | ", connects.Select(c => c.Cursor)));
        Assert.Equal((await _tenant.GetExitNodeAsync(_did)).Root, clone.Sync.Replica.Root);
    }

    [Fact]
    public async Task A_clone_restarted_from_its_on_disk_replica_resumes_from_its_cursor()
    {
        using var key = SigningKey.Generate();
        var (first, _) = await RegisterAsync(key);
        await first.StartAsync();
        var before = await WriteAsync(("memoryIndex/r/1", "1"), ("memoryIndex/r/2", "2"));
        await Until.TrueAsync(() => first.Sync.Replica.Cursor >= before, () => "first run did not catch up");
        var directory = first.Directory;
        await first.DisposeAsync(); // the process stops; its replica is on disk
        _clones.Remove(first);

        var after = await WriteAsync(("memoryIndex/r/3", "3"));
        var restarted = Track(RemoteClone.Open(directory, key, new SyncConfig(SyncInterval: 3_600_000), LiveOnly));
        Assert.True(restarted.ResumedFromDisk);
        Assert.Equal(before, restarted.Sync.Replica.Cursor);
        var events = new EventLog(restarted.Sync);
        await restarted.StartAsync();
        await Until.TrueAsync(() => restarted.Sync.Replica.Cursor >= after, () => string.Join(", ", events.Names));

        Assert.Equal([after], events.All<UpdateAppliedEventArgs>().Select(e => e.Update.Seq!.Value)); // only what it missed
        Assert.Equal((await _tenant.GetExitNodeAsync(_did)).Root, restarted.Sync.Replica.Root);
    }

    [Fact]
    public async Task A_torn_replica_on_disk_is_set_aside_and_the_clone_takes_a_fresh_snapshot()
    {
        using var key = SigningKey.Generate();
        var (first, _) = await RegisterAsync(key);
        var directory = first.Directory;
        await first.DisposeAsync();
        _clones.Remove(first);
        var path = Path.Combine(directory, ReplicaStore.FileName);
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..40]);
        var head = await WriteAsync(("memoryIndex/t/1", "1"));

        var reopened = Track(RemoteClone.Open(directory, key, new SyncConfig(AutoSync: false), LiveOnly));
        Assert.False(reopened.ResumedFromDisk);
        Assert.NotNull(reopened.Store.LastLoadProblem);
        await reopened.Sync.SyncNowAsync();

        Assert.Equal(head, reopened.Sync.Replica.Cursor);
        Assert.Equal((await _tenant.GetExitNodeAsync(_did)).Root, reopened.Sync.Replica.Root);
    }

    [Fact]
    public async Task Suspension_closes_the_live_session_and_stops_the_clone_as_revoked()
    {
        using var key = SigningKey.Generate();
        var (clone, _) = await RegisterAsync(key);
        var revoked = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        clone.Sync.Error += (_, e) =>
        {
            if (e.Error is CloneRevokedException)
            {
                revoked.TrySetResult(e.Error);
            }
        };
        await clone.StartAsync();

        var proof = await _tenant.SuspendCloneAsync(_did, clone.CloneId, "lost phone");
        Assert.Equal(TrustLevel.Suspended, proof.Payload.TrustLevel);

        await revoked.Task.WaitAsync(Until.Patience);
        await Until.TrueAsync(() => !clone.Sync.IsRunning, () => "still running");
        await Assert.ThrowsAsync<CloneRevokedException>(() => clone.Transport.GetStatusAsync());
        await Assert.ThrowsAsync<CloneRevokedException>(() => clone.Transport.SubscribeAsync(new NullLiveObserver(), default));
    }

    [Fact]
    public async Task The_browser_ticket_opens_the_same_live_session()
    {
        using var key = SigningKey.Generate();
        var (registered, _) = await RegisterAsync(key);
        var directory = registered.Directory;
        await registered.DisposeAsync();
        _clones.Remove(registered);
        var clone = Track(RemoteClone.Open(directory, key, new SyncConfig(SyncInterval: 3_600_000), LiveOnly, new HttpSyncTransportOptions { UseSyncTicket = true }));
        await clone.StartAsync();

        var head = await WriteAsync(("memoryIndex/ticket/1", "1"));
        await Until.TrueAsync(() => clone.Sync.Replica.Cursor >= head, () => "not delivered");
        Assert.True(clone.Transport.IsLiveConnected);
    }

    [Fact]
    public async Task Requests_and_upgrades_signed_by_another_key_are_refused_as_unauthorized()
    {
        using var key = SigningKey.Generate();
        var (clone, _) = await RegisterAsync(key);
        using var impostor = SigningKey.Generate();
        using var transport = new HttpSyncTransport(gateway.BaseAddress, impostor, clone.CloneId, handler: new ContractCheckingHandler());

        var status = await Assert.ThrowsAsync<GatewayException>(() => transport.GetStatusAsync());
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, status.Status);
        var upgrade = await Assert.ThrowsAsync<GatewayException>(() => transport.SubscribeAsync(new NullLiveObserver(), default));
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, upgrade.Status);

        // The clone's own key still works: nothing was revoked by the impostor.
        Assert.Equal(1, (await clone.Transport.GetStatusAsync()).HeadSeq);
    }

    [Fact]
    public async Task An_advertisement_altered_anywhere_does_not_verify()
    {
        using var http = gateway.CreateClient();
        var text = await http.GetStringAsync($"/v1/exit-nodes/{_did}/advertisement");
        Assert.Equal(_did, AdvertisementVerifier.Verify(Vivim.Protocol.Json.ProtocolJson.ParseObject(text), _did).Did);

        foreach (var alter in new Action<System.Text.Json.Nodes.JsonObject>[]
        {
            json => json["capabilities"]!.AsArray().Add("relay"),
            json => json["policy"]!["maxClones"] = 51,
            json => json["anchorState"]!["merkleRoot"] = new string('0', 64), // covered by the v2 proof and by the anchorState's v1 signature
        })
        {
            var json = Vivim.Protocol.Json.ProtocolJson.ParseObject(text);
            alter(json);
            Assert.Throws<AdvertisementVerificationException>(() => AdvertisementVerifier.Verify(json, _did));
        }

        using var other = SigningKey.Generate();
        Assert.Throws<AdvertisementVerificationException>(() => AdvertisementVerifier.Verify(Vivim.Protocol.Json.ProtocolJson.ParseObject(text), other.Did.Value));
    }

    private async Task<(RemoteClone Clone, CloneRegistrationResult Result)> RegisterAsync(SigningKey key, SyncConfig? config = null)
    {
        var (clone, result) = await RemoteClone.RegisterAsync(gateway.BaseAddress, _did, key, _home.FullName, config: config ?? new SyncConfig(SyncInterval: 3_600_000), syncOptions: LiveOnly);
        return (Track(clone), result);
    }

    private RemoteClone Track(RemoteClone clone)
    {
        _clones.Add(clone);
        return clone;
    }

    private async Task<long> WriteAsync(params (string Path, string Json)[] documents)
    {
        var result = await _tenant.WriteAsync(_did, [.. documents.Select(d => new OwnerUpdate(DocumentType(d.Path), UpdateOperation.Create, d.Path, new RawJson(d.Json)))]);
        Assert.Equal(SubmitOutcome.Committed, result.Outcome);
        return result.Receipts[^1].Seq;
    }

    private static UpdateType DocumentType(string path) => path.Split('/')[0] switch
    {
        "identity" => UpdateType.Identity,
        "contentManifest" => UpdateType.Content,
        _ => UpdateType.Memory,
    };
}
