using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Vivim.Client.Http;
using Vivim.Client.P2p;
using Vivim.Client.P2p.Relay;
using Vivim.Client.Replica;
using Vivim.Libp2p.Core;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;

namespace Vivim.Cli.Commands;

/// <summary>
/// <c>vivim clone register|status|sync|serve</c>: this machine as a clone of a hosted parent, kept under VIVIM_HOME/clones,
/// over HTTP/WebSocket or over libp2p (<c>--p2p</c>). A clone syncs over the transport it registered with; <c>--p2p</c>
/// or <c>--gateway</c> switches it, resuming from the same replica. A relay clone (<c>register --relay</c>) re-serves its
/// parent with <c>serve</c>; other clones go <c>--through</c> it.
/// </summary>
public static class CloneCommands
{
    public static Command Create()
    {
        var clone = new Command("clone", "this machine as a clone (signed with the local identity)");
        clone.Subcommands.Add(Register());
        clone.Subcommands.Add(Status());
        clone.Subcommands.Add(Sync());
        clone.Subcommands.Add(Serve());
        return clone;
    }

    /// <summary>A clone talks to the gateway it registered with, unless <c>--gateway</c> says otherwise.</summary>
    internal static Uri? ExplicitGateway(ParseResult parse) =>
        parse.GetValue(CommonOptions.Gateway) is { } gateway ? CliHome.Gateway(gateway) : null;

    /// <summary>A call through a clone: a gateway it cannot reach is named as the clone knows it (its registration's, or --gateway).</summary>
    internal static async Task<T> ReachingAsync<T>(ILocalClone clone, Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (HttpRequestException e) when (clone is RemoteClone remote)
        {
            throw new CliException(CliRunner.Unreachable(remote.Transport.Gateway.AbsoluteUri, e));
        }
    }

    private static Option<bool> P2pOption() => new("--p2p") { Description = "over libp2p: find the exit node on the DHT, register and sync over /vivim/* and GossipSub" };

    private static Option<string[]> BootstrapOption() => new("--bootstrap")
    {
        Description = "a libp2p peer to find the DHT through, /ip4/…/tcp/…/p2p/<peer id> (repeatable; implies --p2p; default: the gateway's own peer from GET /v1/p2p)",
        AllowMultipleArgumentsPerToken = true,
    };

    private static Option<string?> ThroughOption() => new("--through")
    {
        Description = "a relay clone of the same parent to register and sync through, /ip4/…/tcp/…/p2p/<peer id> (implies --p2p)",
    };

    private static Command Register()
    {
        var didArgument = new Argument<string?>("did") { Description = "the exit node's DID (or --node)", Arity = ArgumentArity.ZeroOrOne };
        var node = new Option<string?>("--node") { Description = "the exit node's DID" };
        var capabilities = new Option<string[]>("--capability") { Description = "a desired capability (repeatable; default: what the node advertises)", AllowMultipleArgumentsPerToken = true };
        var migration = new Option<string?>("--migration") { Description = "mirror (default), relay or fork" };
        var relay = new Option<bool>("--relay") { Description = "register as a relay clone (--migration relay)" };
        var p2p = P2pOption();
        var bootstrap = BootstrapOption();
        var through = ThroughOption();
        var command = new Command("register", "discover the exit node, verify it, answer its challenge, register, and keep the verified snapshot")
        {
            didArgument, node, capabilities, migration, relay, p2p, bootstrap, through,
        };
        CliRunner.SetAction(command, async (parse, ct) =>
        {
            var parentDid = (parse.GetValue(didArgument), parse.GetValue(node)) switch
            {
                (null, null) => throw new CliUsageException("name the exit node: vivim clone register <did> (or --node <did>)."),
                ({ } a, { } b) when a != b => throw new CliUsageException($"the DID argument ({a}) and --node ({b}) differ."),
                (var a, var b) => CliHome.CheckedDid((a ?? b)!, a is not null ? "the DID argument" : "--node"),
            };
            MigrationType? migrationType = parse.GetValue(migration) switch
            {
                null => parse.GetValue(relay) ? MigrationType.Relay : null,
                "relay" => MigrationType.Relay,
                var other when parse.GetValue(relay) => throw new CliUsageException($"--relay and --migration {other} contradict each other."),
                "mirror" => MigrationType.Mirror,
                "fork" => MigrationType.Fork,
                var other => throw new CliUsageException($"--migration must be mirror, relay or fork, not '{other}'."),
            };
            var desired = parse.GetValue(capabilities) is { Length: > 0 } c ? c : null;
            var relayPeer = parse.GetValue(through) is { } given ? BootstrapAddresses([given], "--through")[0] : null;
            var overP2p = parse.GetValue(p2p) || parse.GetValue(bootstrap) is { Length: > 0 } || relayPeer is not null;
            var peers = overP2p ? BootstrapAddresses(parse.GetValue(bootstrap)) : [];
            var home = CliHome.FromEnvironment();
            using var key = home.LoadOrCreateIdentity();
            ILocalClone clone;
            CloneRegistrationResult result;
            if (overP2p)
            {
                var bootstrapPeers = peers.Count > 0 || relayPeer is not null ? peers : await GatewayPeerAsync(parse, ct);
                (var p2pClone, result) = await P2pClone.RegisterAsync(bootstrapPeers, parentDid, key, home.ClonesRoot, desired, migrationType, throughRelay: relayPeer, cancellationToken: ct);
                clone = p2pClone;
            }
            else
            {
                (var remote, result) = await RemoteClone.RegisterAsync(CommonOptions.GatewayOf(parse), parentDid, key, home.ClonesRoot, desired, migrationType, cancellationToken: ct);
                clone = remote;
            }

            await using (clone)
            {
                AnsiConsole.WriteLine(clone.CloneId);
                var over = clone is P2pClone p ? $"over libp2p via {p.Transport.Gateway}" : "over HTTP";
                await Console.Error.WriteLineAsync($"registered {over}; trust {result.Response.TrustProof?.Payload.TrustLevel?.ToString().ToLowerInvariant()}, permissions {string.Join(",", result.Response.TrustProof?.Payload.Permissions ?? [])}; snapshot: {result.Snapshot}; seq {clone.Sync.Replica.Cursor}");
            }
        });
        return command;
    }

    private static Command Status()
    {
        var cloneOption = CommonOptions.Clone();
        var p2p = P2pOption();
        var bootstrap = BootstrapOption();
        var command = new Command("status", "the clone's local replica and its status at the parent") { cloneOption, p2p, bootstrap };
        CliRunner.SetAction(command, async (parse, ct) =>
        {
            var home = CliHome.FromEnvironment();
            using var key = home.LoadIdentity();
            await using var clone = await OpenAsync(parse, home.CloneDirectory(parse.GetValue(cloneOption)), key, null, p2p, bootstrap, ct);
            var remote = await ReachingAsync(clone, () => clone switch
            {
                P2pClone p => p.Transport.GetStatusAsync(ct),
                RemoteClone r => r.Transport.GetStatusAsync(ct),
                _ => throw new InvalidOperationException("unknown clone kind"),
            });
            var table = new Table().HideHeaders().AddColumns("field", "value");
            CliOutput.AddRow(table, "clone", clone.CloneId);
            CliOutput.AddRow(table, "parent", clone.Registration.ParentDid);
            CliOutput.AddRow(table, "transport", clone is P2pClone ? "libp2p" : "http");
            CliOutput.AddRow(table, "gateway", clone is P2pClone peer ? peer.Transport.Gateway.ToString() : ((RemoteClone)clone).Transport.Gateway.AbsoluteUri.TrimEnd('/'));
            CliOutput.AddRow(table, "local cursor", clone.Sync.Replica.Cursor.ToString(CultureInfo.InvariantCulture));
            CliOutput.AddRow(table, "local root", clone.Sync.Replica.Root);
            CliOutput.AddRow(table, "documents", clone.Sync.Replica.Count.ToString(CultureInfo.InvariantCulture));
            CliOutput.AddRow(table, "parent's head", remote.HeadSeq.ToString(CultureInfo.InvariantCulture));
            CliOutput.AddRow(table, "acknowledged cursor", remote.Cursor.ToString(CultureInfo.InvariantCulture));
            CliOutput.AddRow(table, "root at that cursor", remote.Status.StateHash);
            CliOutput.AddRow(table, "connected", remote.Status.Connected ? "yes" : "no");
            CliOutput.AddRow(table, "pending", remote.Status.PendingUpdates.ToString(CultureInfo.InvariantCulture));
            AnsiConsole.Write(table);
        });
        return command;
    }

    private static Command Sync()
    {
        var cloneOption = CommonOptions.Clone();
        var once = new Option<bool>("--once") { Description = "catch up and exit instead of staying live" };
        var compression = new Option<bool>("--compression") { Description = "gzip the WebSocket batches" };
        var p2p = P2pOption();
        var bootstrap = BootstrapOption();
        var through = ThroughOption();
        var command = new Command("sync", "sync live (WebSocket, or GossipSub and /vivim/sync for a libp2p clone), printing every event, until Ctrl+C")
        {
            cloneOption, once, compression, p2p, bootstrap, through,
        };
        CliRunner.SetAction(command, async (parse, ct) =>
        {
            var home = CliHome.FromEnvironment();
            using var key = home.LoadIdentity();
            var config = new SyncConfig(AutoSync: !parse.GetValue(once), Compression: parse.GetValue(compression));
            await using var clone = await OpenAsync(parse, home.CloneDirectory(parse.GetValue(cloneOption)), key, config, p2p, bootstrap, ct, parse.GetValue(through));
            if (clone.Store.LastLoadProblem is { } problem)
            {
                await Console.Error.WriteLineAsync($"the saved replica was set aside ({problem}); taking a new snapshot");
            }

            EventPrinter.Attach(clone);
            var over = clone is P2pClone peer ? $"over libp2p via {peer.Transport.Gateway}" : "over HTTP/WebSocket";
            AnsiConsole.WriteLine($"clone {clone.CloneId} of {clone.Registration.ParentDid} {over}, resuming after seq {clone.Sync.Replica.Cursor}");
            if (parse.GetValue(once))
            {
                await ReachingAsync(clone, async () =>
                {
                    await clone.Sync.SyncNowAsync(ct);
                    return true;
                });
            }
            else
            {
                await clone.StartAsync(ct);
                var revoked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                clone.Sync.Error += (_, e) =>
                {
                    if (e.Error is Vivim.Client.Transports.CloneRevokedException)
                    {
                        revoked.TrySetResult();
                    }
                };
                await Task.WhenAny(Task.Delay(Timeout.Infinite, ct), revoked.Task);
                if (revoked.Task.IsCompleted)
                {
                    throw new CliException("the parent revoked this clone's access");
                }
            }

            AnsiConsole.WriteLine($"at seq {clone.Sync.Replica.Cursor}, root {clone.Sync.Replica.Root}");
        });
        return command;
    }

    private static Command Serve()
    {
        var cloneOption = CommonOptions.Clone();
        var listen = new Option<string[]>("--listen")
        {
            Description = "where the relay listens for other clones (repeatable; default /ip4/0.0.0.0/tcp/4002)",
            AllowMultipleArgumentsPerToken = true,
        };
        var bootstrap = BootstrapOption();
        var command = new Command("serve", "run this relay clone: keep its replica current and re-serve it on libp2p to the parent's other clones, until Ctrl+C")
        {
            cloneOption, listen, bootstrap,
        };
        CliRunner.SetAction(command, async (parse, ct) =>
        {
            var home = CliHome.FromEnvironment();
            using var key = home.LoadIdentity();
            var directory = home.CloneDirectory(parse.GetValue(cloneOption));
            var registration = StoredRegistration.Load(directory) ?? throw new CliException($"no clone registration in {directory}");
            if (registration.TrustProof?.Payload.MigrationType != MigrationType.Relay)
            {
                throw new CliException($"clone {registration.CloneId} registered as a {registration.TrustProof?.Payload.MigrationType?.ToString().ToLowerInvariant() ?? "mirror"}, not a relay: register one with 'vivim clone register --p2p --relay <did>'");
            }

            var addresses = BootstrapAddresses(parse.GetValue(listen) is { Length: > 0 } given ? given : ["/ip4/0.0.0.0/tcp/4002"], "--listen", requirePeer: false);
            var peers = BootstrapAddresses(parse.GetValue(bootstrap));
            if (peers.Count == 0 && registration.Bootstrap.Count == 0 && registration.Peer is null)
            {
                peers = [.. await GatewayPeerAsync(parse, ct)];
            }

            await using var clone = await P2pClone.OpenAsync(directory, key, new SyncConfig(), bootstrap: peers, listen: addresses, cancellationToken: ct);
            EventPrinter.Attach(clone);
            await clone.StartAsync(ct);
            await using var relay = await CloneRelay.StartAsync(clone, cancellationToken: ct);
            foreach (var address in clone.Node.Host.ListenAddresses)
            {
                AnsiConsole.WriteLine($"relay of {clone.Registration.ParentDid} at {address.WithPeerId(clone.Node.Host.PeerId)}");
            }

            await Task.Delay(Timeout.Infinite, ct);
        });
        return command;
    }

    /// <summary>
    /// The clone in <paramref name="directory"/> over the transport it registered with, or over libp2p with <c>--p2p</c> /
    /// <c>--bootstrap</c>, or over HTTP with <c>--gateway</c> (a clone registered over libp2p has no HTTP gateway of its own).
    /// </summary>
    private static async Task<ILocalClone> OpenAsync(ParseResult parse, string directory, SigningKey key, SyncConfig? config, Option<bool> p2p, Option<string[]> bootstrap, CancellationToken ct, string? through = null)
    {
        var registration = StoredRegistration.Load(directory) ?? throw new CliException($"no clone registration in {directory}");
        var explicitGateway = ExplicitGateway(parse);
        var peers = BootstrapAddresses(parse.GetValue(bootstrap));
        var relayPeer = through is null ? null : BootstrapAddresses([through], "--through")[0];
        var overP2p = parse.GetValue(p2p) || peers.Count > 0 || relayPeer is not null
            || (explicitGateway is null && registration.Transport == StoredRegistration.Libp2pTransport);
        if (!overP2p)
        {
            if (registration.Gateway.Length == 0 && explicitGateway is null)
            {
                throw new CliUsageException("this clone registered over libp2p: pass --gateway <url> to sync it over HTTP.");
            }

            return RemoteClone.Open(directory, key, config, gateway: explicitGateway);
        }

        if (peers.Count == 0 && relayPeer is null && registration.Bootstrap.Count == 0 && registration.Peer is null)
        {
            peers = [.. await GatewayPeerAsync(parse, ct)];
        }

        return await P2pClone.OpenAsync(directory, key, config, bootstrap: peers, throughRelay: relayPeer, cancellationToken: ct);
    }

    internal static List<Multiaddr> BootstrapAddresses(string[]? values, string option = "--bootstrap", bool requirePeer = true)
    {
        var peers = new List<Multiaddr>();
        foreach (var value in values ?? [])
        {
            Multiaddr address;
            try
            {
                address = Multiaddr.Parse(value);
            }
            catch (Exception e) when (e is FormatException or ArgumentException or Libp2pException)
            {
                throw new CliUsageException(requirePeer
                    ? $"{option} must be a multiaddr such as /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW…, not '{value}' ({e.Message})."
                    : $"{option} must be a multiaddr such as /ip4/0.0.0.0/tcp/4002, not '{value}' ({e.Message}).");
            }

            peers.Add(address.PeerId is not null || !requirePeer ? address : throw new CliUsageException($"{option} '{value}' names no peer: end it with /p2p/<peer id>."));
        }

        return peers;
    }

    /// <summary>No bootstrap given: the gateway's own libp2p peer (GET /v1/p2p), so a local setup needs no addresses.</summary>
    private static async Task<IReadOnlyList<Multiaddr>> GatewayPeerAsync(ParseResult parse, CancellationToken ct)
    {
        var gateway = CommonOptions.GatewayOf(parse);
        GatewayP2pPeer peer;
        try
        {
            peer = await GatewayP2pPeer.GetAsync(gateway, cancellationToken: ct);
        }
        catch (HttpRequestException e)
        {
            throw new CliException(CliRunner.Unreachable(gateway.AbsoluteUri, e) + " Or give the peer with --bootstrap.");
        }

        await Console.Error.WriteLineAsync($"bootstrapping from the gateway's libp2p peer {peer.PeerId}");
        return peer.Dialable;
    }
}
