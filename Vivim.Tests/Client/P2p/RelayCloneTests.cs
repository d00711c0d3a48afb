using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Vivim.Anchors;
using Vivim.Client.Http;
using Vivim.Client.P2p;
using Vivim.Client.P2p.Relay;
using Vivim.Client.Sync;
using Vivim.ExitNodes;
using Vivim.Gateway.P2p.Gossip;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Tests.Gateway;
using Vivim.Tests.Libp2p;
using Vivim.Tests.Support;
using static Vivim.Tests.Client.P2p.P2pCloneTestKit;
using static Vivim.Tests.Gateway.GatewayTestKit;

namespace Vivim.Tests.Client.P2p;

/// <summary>
/// Relay clones (DESIGN §7): a relay keeps a verified replica and re-serves it on libp2p to other clones of the same
/// parent that reach only the relay; they verify what it serves exactly as the parent's, so an altered update is
/// refused; a peer without its parent's TrustProof, or with another's, or suspended at the parent, is refused.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class RelayCloneTests(GatewayFixture gateway) : IAsyncLifetime
{
    private static readonly IReadOnlyList<Multiaddr> Loopback = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")];
    private readonly DirectoryInfo _home = Directory.CreateTempSubdirectory("vivim-relay-clones-");
    private readonly List<IAsyncDisposable> _owned = [];
    private string _apiKey = string.Empty;
    private string _did = string.Empty;


    private static SyncConfig NoPeriodicSync => new(SyncInterval: 3_600_000, MaxBatchSize: 25);

    public async Task InitializeAsync()
    {
        (_, _apiKey) = await gateway.CreateTenantAsync("relays");
        _did = await gateway.CreateExitNodeAsync(_apiKey, new JsonObject { ["policy"] = new JsonObject { ["allowMigration"] = true } });
        await gateway.ServedOnLibp2pAsync(_did);
    }

    public async Task DisposeAsync()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }

        _home.Delete(recursive: true);
    }

    [Fact]
    public async Task Two_clones_that_reach_only_a_relay_register_through_it_and_stay_current_and_converge_with_a_js_clone_of_the_gateway()
    {
        using var cts = TestUtil.InteropTimeout();
        var ct = cts.Token;
        var (relay, serving, relayAddress) = await StartRelayAsync(ct);

        // The relay is on the DHT: a peer that knows only the gateway finds it under /vivim/relay/<did>.
        Assert.True(await serving.AnnounceAsync(ct) > 0, "no DHT peer took the relay's provider record");
        using (var searcherKey = SigningKey.Generate())
        {
            await using var searcher = new CloneP2pNode(searcherKey, await BootstrapAsync(ct));
            await searcher.StartAsync(ct);
            var found = await searcher.FindRelaysAsync(_did, ct);
            Assert.Contains(relayAddress, found);
        }

        var clones = new List<(P2pClone Clone, EventLog Events)>();
        for (var i = 0; i < 2; i++)
        {
            using var key = SigningKey.Generate();
            var (clone, registration) = await P2pClone.RegisterAsync([], _did, key, _home.FullName, config: NoPeriodicSync, syncOptions: LiveOnly, throughRelay: relayAddress, cancellationToken: ct);
            _owned.Add(clone);
            Assert.True(registration.Snapshot.All, registration.Snapshot.ToString());
            var events = new EventLog(clone.Sync);
            await clone.StartAsync(ct);
            clones.Add((clone, events));
        }

        var head = 0L;
        for (var batch = 0; batch < 6; batch++)
        {
            head = await WriteAsync(gateway, _apiKey, _did, [.. Enumerable.Range(0, 5).Select(i => ($"memoryIndex/relayed/{batch}-{i}", $$"""{"n":{{(batch * 5) + i}}}"""))]);
        }

        var root = await AnchorRootAsync();
        foreach (var (clone, events) in clones)
        {
            await Until.TrueAsync(() => clone.Sync.Replica.Cursor == head, () => $"a clone behind the relay is at {clone.Sync.Replica.Cursor}, the head is {head} (relay at {relay.Sync.Replica.Cursor})");
            Assert.Equal(root, clone.Sync.Replica.Root);
            Assert.True(!events.Names.Contains(SyncEventNames.SyncFailed), string.Join(" | ", events.All<SyncFailedEventArgs>().Select(e => e.Error.GetType().Name + ": " + e.Error.Message)));

            // It reached nobody but the relay: the relay's peer is its only connection.
            Assert.All(clone.Node.Host.Connections, c => Assert.Equal(relay.Node.Host.PeerId, c.RemotePeer));

            // The relay's status answer has the gateway's shape: this clone's acknowledged cursor and the root there.
            await Until.TrueAsync(async () => (await clone.Transport.GetStatusAsync(ct)).Cursor == head, () => "the relay never took the clone's ack");
            var status = await clone.Transport.GetStatusAsync(ct);
            Assert.Equal((head, root, 0L), (status.HeadSeq, status.Status.StateHash, status.Status.PendingUpdates));
            Assert.True(status.Status.LastSyncAt > 0);
        }

        // A js-libp2p clone registered through the gateway reaches the same root from the gateway itself.
        using var http = gateway.CreateClient();
        var p2p = JsonNode.Parse(await http.GetStringAsync("/v1/p2p", ct))!;
        var gatewayPeer = p2p["peerId"]!.GetValue<string>();
        using var jsKey = SigningKey.Generate();
        await using var js = await JsPeer.StartAsync(ct, "clone-peer.mjs", $"--seed={Convert.ToHexStringLower(jsKey.ExportSeed())}");
        await js.CommandAsync(new JsonObject { ["cmd"] = "dial", ["addr"] = p2p["multiaddrs"]![0]!.GetValue<string>() + "/p2p/" + gatewayPeer }, ct);
        var registered = await js.CommandAsync(new JsonObject { ["cmd"] = "register", ["peer"] = gatewayPeer, ["exitNode"] = _did }, ct);
        Assert.True(registered["trustVerified"]!.GetValue<bool>(), registered.ToJsonString());
        var synced = await js.CommandAsync(new JsonObject { ["cmd"] = "sync", ["peer"] = gatewayPeer, ["cloneId"] = registered["response"]!["cloneId"]!.GetValue<string>(), ["parentDid"] = _did }, ct);
        Assert.Equal(head, (long)synced["seq"]!.GetValue<double>());
        Assert.Equal(clones[0].Clone.Sync.Replica.Root, synced["root"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_relay_refuses_a_peer_without_its_parents_TrustProof_with_another_peers_proof_or_suspended_at_the_parent()
    {
        using var cts = TestUtil.InteropTimeout();
        var ct = cts.Token;
        var (relay, _, relayAddress) = await StartRelayAsync(ct, new CloneRelayOptions { PeerTrustTtl = TimeSpan.Zero });
        await WriteAsync(gateway, _apiKey, _did, ("memoryIndex/guarded/1", "{}"));
        await Until.TrueAsync(() => relay.Sync.Replica.Cursor >= 1, () => "the relay never applied the write");

        using var memberKey = SigningKey.Generate();
        var (member, _) = await P2pClone.RegisterAsync([], _did, memberKey, _home.FullName, config: NoPeriodicSync, syncOptions: LiveOnly, throughRelay: relayAddress, cancellationToken: ct);
        _owned.Add(member);
        var page = await member.Transport.GetUpdatesAsync(0, 10, ct);
        Assert.NotEmpty(page.Updates);

        // A stranger's peer: no proof at all, then the member's proof (made out to another key).
        using var strangerKey = SigningKey.Generate();
        var stranger = new CloneP2pNode(strangerKey, [relayAddress]);
        _owned.Add(stranger);
        await stranger.StartAsync(ct);
        var bare = new P2pSyncTransport(stranger.Host, relayAddress, member.CloneId, _did);
        Assert.Equal("unauthorized", (await Assert.ThrowsAsync<GatewayException>(() => bare.GetUpdatesAsync(0, 10, ct))).Code);
        var borrowed = new P2pSyncTransport(stranger.Host, relayAddress, member.CloneId, _did) { Presenting = member.Registration.TrustProof };
        var refused = await Assert.ThrowsAsync<GatewayException>(() => borrowed.GetUpdatesAsync(0, 10, ct));
        Assert.Equal("unauthorized", refused.Code);
        Assert.Contains("not about this peer", refused.Message, StringComparison.Ordinal);

        // Suspended at the parent: the relay learns it when it asks again (here on every request).
        await gateway.Grains.GetGrain<IExitNodeGrain>(_did).AsOperator(gateway, n => n.SuspendCloneAsync(member.CloneId, "relay test"));
        var suspended = await Assert.ThrowsAsync<GatewayException>(() => member.Transport.GetUpdatesAsync(0, 10, ct));
        Assert.Equal("forbidden", suspended.Code);
        Assert.Equal(HttpStatusCode.Forbidden, suspended.Status);
    }

    [Fact]
    public async Task Clones_behind_a_relay_that_alters_an_update_refuse_it_report_sync_failed_and_keep_their_verified_state()
    {
        using var cts = TestUtil.InteropTimeout();
        var ct = cts.Token;

        // An honest relay to register through, and an evil one: a relay clone whose /vivim/sync alters one update.
        var (honestRelay, _, honestAddress) = await StartRelayAsync(ct);
        using var evilKey = SigningKey.Generate();
        var (evil, _) = await P2pClone.RegisterAsync(await BootstrapAsync(ct), _did, evilKey, _home.FullName, null,
            MigrationType.Relay, NoPeriodicSync, LiveOnly, Loopback, cancellationToken: ct);
        _owned.Add(evil);
        await evil.StartAsync(ct);

        // Two clones registered (through the honest relay) before the writes, then opened through the evil one only.
        var registeredClones = new List<(string Directory, SigningKey Key)>();
        for (var round = 0; round < 2; round++)
        {
            var key = SigningKey.Generate();
            var (registered, _) = await P2pClone.RegisterAsync([], _did, key, _home.FullName, config: NoPeriodicSync, syncOptions: LiveOnly, throughRelay: honestAddress, cancellationToken: ct);
            registeredClones.Add((registered.Directory, key));
            await registered.DisposeAsync();
        }

        var good = await WriteAsync(gateway, _apiKey, _did, ("memoryIndex/evil/good", """{"ok":true}"""));
        var altered = await WriteAsync(gateway, _apiKey, _did, ("memoryIndex/evil/altered", """{"amount":1}"""));
        await WriteAsync(gateway, _apiKey, _did, ("memoryIndex/evil/after", "{}"));
        await evil.Sync.SyncNowAsync(ct);
        await honestRelay.Sync.SyncNowAsync(ct);
        Assert.Equal(altered + 1, evil.Sync.Replica.Cursor);
        Assert.Equal(altered + 1, honestRelay.Sync.Replica.Cursor);
        evil.Node.Host.SetStreamHandler(P2pSyncTransport.SyncProtocolId, (stream, token) => ServeAlteredAsync(evil, altered, stream, token));
        var evilAddress = evil.Node.Host.ListenAddresses[0].WithPeerId(evil.Node.Host.PeerId);

        foreach (var (directory, key) in registeredClones)
        {
            using (key)
            {
                var clone = await P2pClone.OpenAsync(directory, key, NoPeriodicSync, LiveOnly, bootstrap: [evilAddress], throughRelay: evilAddress, cancellationToken: ct);
                _owned.Add(clone);
                var (startCursor, startRoot) = (clone.Sync.Replica.Cursor, clone.Sync.Replica.Root);
                Assert.True(startCursor < good, $"the clone registered at {startCursor}, after the writes");
                var events = new EventLog(clone.Sync);

                // The page holding the altered update is refused as a whole: nothing of it is applied.
                var failure = await Assert.ThrowsAsync<SyncVerificationException>(() => clone.Sync.SyncNowAsync(ct));
                Assert.Contains(SyncEventNames.SyncFailed, events.Names);
                Assert.Equal(startCursor, clone.Sync.Replica.Cursor);
                Assert.Equal(startRoot, clone.Sync.Replica.Root);
                Assert.False(clone.Sync.Replica.TryGetDocument("memoryIndex/evil/altered", out _));
                Assert.Equal(["memoryIndex/evil/altered"], events.All<UpdateAppliedEventArgs>().Select(e => e.Success ? "applied " + e.Update.Path : e.Update.Path));

                // The same clone through the honest relay takes everything, verified.
                await clone.DisposeAsync();
                await using var honest = await P2pClone.OpenAsync(directory, key, NoPeriodicSync, LiveOnly, bootstrap: [honestAddress], throughRelay: honestAddress, cancellationToken: ct);
                await honest.Sync.SyncNowAsync(ct);
                Assert.Equal(altered + 1, honest.Sync.Replica.Cursor);
                Assert.True(honest.Sync.Replica.TryGetDocument("memoryIndex/evil/altered", out var document), failure.Message);
                Assert.Equal("""{"amount":1}""", document.Text);
                Assert.Equal(await AnchorRootAsync(), honest.Sync.Replica.Root);
            }
        }
    }

    /// <summary>What a dishonest relay answers: its verified log, but the update at <paramref name="seq"/> says something else.</summary>
    private static async Task ServeAlteredAsync(P2pClone relay, long seq, Libp2pStream stream, CancellationToken cancellationToken)
    {
        var request = ProtocolJson.ParseObject((await Varint.ReadLengthPrefixedAsync(stream, 1 << 20, cancellationToken))!);
        JsonObject answer;
        if (request["type"]!.GetValue<string>() == "updates")
        {
            var page = relay.RelayLog!.Page((long)request["after"]!.GetValue<double>(), 100, relay.Sync.Replica.Cursor);
            answer = CloneRelay.PageJson(page with
            {
                Updates = [.. page.Updates.Select(u => u.Seq == seq ? u with { Data = new RawJson("""{"amount":1000000}""") } : u)],
            });
        }
        else
        {
            answer = request["type"]!.GetValue<string>() == "status" ? new JsonObject { ["connected"] = true, ["parentDid"] = relay.Registration.ParentDid, ["pendingUpdates"] = 0, ["stateHash"] = "", ["cursor"] = 0, ["headSeq"] = relay.Sync.Replica.Cursor } : [];
        }

        await Varint.WriteLengthPrefixedAsync(stream, Encoding.UTF8.GetBytes(JavaScriptJson.Stringify(answer)), cancellationToken);
        await stream.CloseWriteAsync();
    }

    /// <summary>A relay clone registered over the gateway, listening on loopback and serving; returns it and its address.</summary>
    private async Task<(P2pClone Relay, CloneRelay Serving, Multiaddr Address)> StartRelayAsync(CancellationToken ct, CloneRelayOptions? options = null)
    {
        using var key = SigningKey.Generate();
        var (relay, registration) = await P2pClone.RegisterAsync(await BootstrapAsync(ct), _did, key, _home.FullName, migrationType: MigrationType.Relay,
            config: NoPeriodicSync, syncOptions: LiveOnly, listen: Loopback, cancellationToken: ct);
        _owned.Add(relay);
        Assert.Equal(MigrationType.Relay, registration.Response.TrustProof!.Payload.MigrationType);
        await relay.StartAsync(ct);
        var serving = await CloneRelay.StartAsync(relay, options, ct);
        _owned.Add(serving);
        var publisher = gateway.Services.GetRequiredService<CommitPublisher>();
        await Until.TrueAsync(() => publisher.PublishingDids.Contains(_did), () => "the gateway never started publishing the DID's commits for the relay");
        return (relay, serving, relay.Node.Host.ListenAddresses[0].WithPeerId(relay.Node.Host.PeerId));
    }

    private Task<IReadOnlyList<Multiaddr>> BootstrapAsync(CancellationToken ct) => P2pCloneTestKit.BootstrapAsync(gateway, ct);

    private Task<string> AnchorRootAsync() => P2pCloneTestKit.AnchorRootAsync(gateway, _did);
}
