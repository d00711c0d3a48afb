using System.CommandLine;
using Spectre.Console;
using Vivim.Client.Http;
using Vivim.Client.P2p;
using Vivim.Client.Replica;
using Vivim.Libp2p.Core;
using Vivim.Client.Sync;
using Vivim.Client.Transports;
using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Cli.Commands;

/// <summary>
/// <c>vivim demo</c>: the protocol document's "Complete Example" against a running gateway — a tenant, an exit node,
/// a clone registering with the challenge, the snapshot checked as SDK 1.x and as we do, live sync over the WebSocket
/// with every event printed, writes by the owner and by the clone, then the tenant removed. With <c>--p2p</c> the clone
/// side is entirely libp2p: the exit node found on the DHT, registration over <c>/vivim/clone</c>, live commits from
/// GossipSub and pulls and writes over <c>/vivim/sync</c>; only the tenant's own calls use HTTP.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var operatorKey = CommonOptions.OperatorKey();
        var timeout = new Option<int>("--timeout") { Description = "seconds to wait for each sync step", DefaultValueFactory = _ => 30 };
        var p2p = new Option<bool>("--p2p") { Description = "the clone side over libp2p (DHT discovery, /vivim/clone, GossipSub, /vivim/sync)" };
        var bootstrap = new Option<string[]>("--bootstrap") { Description = "with --p2p: the peer to find the DHT through (default: the gateway's own, from GET /v1/p2p)", AllowMultipleArgumentsPerToken = true };
        var command = new Command("demo", "run the protocol's Complete Example against a running gateway, printing every event") { operatorKey, timeout, p2p, bootstrap };
        CliRunner.SetAction(command, (parse, ct) =>
        {
            // Usage first: a wrong option is reported before a missing key.
            var stepTimeout = parse.GetValue(timeout) is > 0 and <= 3600 and var seconds
                ? TimeSpan.FromSeconds(seconds)
                : throw new CliUsageException($"--timeout must be between 1 and 3600 seconds, not {parse.GetValue(timeout)}.");
            var gateway = CommonOptions.GatewayOf(parse);
            var peers = parse.GetValue(bootstrap) is { Length: > 0 } given ? CloneCommands.BootstrapAddresses(given) : null;
            if (peers is not null && !parse.GetValue(p2p))
            {
                throw new CliUsageException("--bootstrap needs --p2p.");
            }

            return RunAsync(gateway, CliHome.OperatorKey(parse.GetValue(operatorKey)), stepTimeout, parse.GetValue(p2p) ? peers ?? [] : null, ct);
        });
        return command;
    }

    /// <param name="bootstrap">Null: the clone uses HTTP/WebSocket. Otherwise libp2p, through these peers (none: the gateway's own).</param>
    public static async Task RunAsync(Uri gateway, string operatorKey, TimeSpan stepTimeout, IReadOnlyList<Multiaddr>? bootstrap, CancellationToken cancellationToken)
    {
        using var operatorClient = new OperatorClient(gateway, operatorKey);
        var (tenantId, apiKey) = await operatorClient.CreateTenantAsync("demo-" + Guid.NewGuid().ToString("N")[..8], cancellationToken);
        Step($"tenant {tenantId} created");
        var workDirectory = Directory.CreateTempSubdirectory("vivim-demo-");
        try
        {
            using var tenant = new TenantClient(gateway, apiKey);
            await RunAsTenantAsync(gateway, tenant, workDirectory.FullName, stepTimeout, bootstrap, cancellationToken);
        }
        finally
        {
            // Clean up even when a step failed or Ctrl+C stopped us.
            await operatorClient.DeleteTenantAsync(tenantId, CancellationToken.None);
            Step($"tenant {tenantId} deleted");
            workDirectory.Delete(recursive: true);
        }
    }

    private static async Task RunAsTenantAsync(Uri gateway, TenantClient tenant, string workDirectory, TimeSpan stepTimeout, IReadOnlyList<Multiaddr>? bootstrap, CancellationToken ct)
    {
        // 1. The parent: an exit node advertising storage, memory, identity and content; 50 clones; verification on.
        var (did, advertisement) = await tenant.CreateExitNodeAsync(
            ["storage", "memory", "identity", "content"], new ExitNodePolicy(MaxClones: 50, AllowMigration: true, RequireVerification: true), cancellationToken: ct);
        Step($"exit node {did}: capabilities {string.Join(", ", advertisement.Capabilities)}; policy maxClones {advertisement.Policy.MaxClones}, allowMigration {advertisement.Policy.AllowMigration}, requireVerification {advertisement.Policy.RequireVerification}");
        await ExpectCommittedAsync(tenant.WriteAsync(did, [new OwnerUpdate(UpdateType.Identity, UpdateOperation.Create, "identity/profile", new RawJson("""{"name":"Ada"}"""))], ct), "owner wrote identity/profile");

        // 2. The clone: discovers and verifies the advertisement, is challenged, proves its identity, is approved.
        using var cloneKey = SigningKey.Generate();
        Step($"clone identity {cloneKey.Did.Value}");
        var config = new SyncConfig(AutoSync: true, SyncInterval: 30000, MaxBatchSize: 50, Compression: true);
        var (clone, registration) = await RegisterCloneAsync(gateway, did, cloneKey, workDirectory, config, bootstrap, ct);
        await using (clone)
        {
            if (clone is P2pClone found)
            {
                Step($"exit node found on the DHT: provider {found.Transport.Gateway}");
            }

            Step("advertisement verified (v2 proof, anchorState v1 signature)");
            var trust = registration.Response.TrustProof!;
            Step($"registered {clone.CloneId}: trust {trust.Payload.TrustLevel?.ToString().ToLowerInvariant()}, permissions {string.Join(",", trust.Payload.Permissions ?? [])} (trust proof v1 and v2 verified)");
            var check = registration.Snapshot;
            Step($"snapshot as SDK 1.x checks it: v1 signature {Ok(check.V1Signature)}, v1 root (sha-256 of JSON.stringify(state)) {Ok(check.V1Root)}");
            Step($"snapshot as we check it: v2 proof {Ok(check.V2Signature)}, state tree reproduces rootV2 {Ok(check.V2Root)}");
            if (!check.All)
            {
                throw new CliException("the initial snapshot does not verify");
            }

            // 3. Live sync, every event printed as it happens.
            EventPrinter.Attach(clone, "  ");
            await clone.StartAsync(ct);
            Step(clone is P2pClone
                ? $"syncing live over libp2p (GossipSub /vivim/sync/{did}, pulls over /vivim/sync/1.0.0) from seq {clone.Sync.Replica.Cursor}"
                : $"syncing live over the WebSocket from seq {clone.Sync.Replica.Cursor}");

            // 4. The owner writes; the clone receives, verifies and applies.
            var owner = await ExpectCommittedAsync(tenant.WriteAsync(did,
            [
                new OwnerUpdate(UpdateType.Memory, UpdateOperation.Create, "memoryIndex/notes/1", new RawJson("""{"text":"hello"}""")),
                new OwnerUpdate(UpdateType.Content, UpdateOperation.Create, "contentManifest/posts/1", new RawJson("""{"cid":"bafy"}""")),
            ], ct), "owner wrote memoryIndex/notes/1 and contentManifest/posts/1");
            await WaitForAsync(clone, owner.Receipts[^1].Seq, stepTimeout, ct);

            // 5. The clone writes (signed v1 and v2 with its key); it comes back to it through the same verified sync.
            SubmitResult result;
            try
            {
                result = await clone.Writer.SubmitAsync(UpdateType.Memory, UpdateOperation.Create, "memoryIndex/notes/from-clone", new RawJson("""{"text":"written by the clone"}"""), cancellationToken: ct);
            }
            catch (CloneRevokedException refused) when (!(trust.Payload.Permissions ?? []).Contains(Permissions.Write))
            {
                // The gateway answers a read-only clone's write with a bare 403; the clone itself is not revoked.
                result = new SubmitResult(SubmitOutcome.Forbidden, [], [new UpdateRejection(0, null, RejectionCodes.WriteForbidden, refused.Message)]);
            }

            if (result.Outcome == SubmitOutcome.Committed)
            {
                Step($"clone wrote memoryIndex/notes/from-clone at seq {result.Receipts[0].Seq}");
                await WaitForAsync(clone, result.Receipts[0].Seq, stepTimeout, ct);
            }
            else
            {
                var why = result.Rejections.FirstOrDefault();
                Step($"clone write refused ({result.Outcome.ToString().ToLowerInvariant()}: {why?.Code} {why?.Reason}); this node grants clones {string.Join(",", trust.Payload.Permissions ?? [])}");
            }

            var status = clone.Sync.GetStatus();
            Step($"clone at seq {clone.Sync.Replica.Cursor}, {clone.Sync.Replica.Count} documents, root {clone.Sync.Replica.Root}, connected {status.Connected}, pending {status.PendingUpdates}");
            var node = await tenant.GetExitNodeAsync(did, ct);
            if (node.Root != clone.Sync.Replica.Root)
            {
                throw new CliException($"the clone's root {clone.Sync.Replica.Root} is not the parent's {node.Root}");
            }

            Step("the clone's root equals the parent's");
        }
    }

    private static async Task<SubmitResult> ExpectCommittedAsync(Task<SubmitResult> write, string what)
    {
        var result = await write;
        if (result.Outcome != SubmitOutcome.Committed)
        {
            var why = result.Rejections.FirstOrDefault();
            throw new CliException($"{what}: refused ({why?.Code} {why?.Reason})");
        }

        Step($"{what} (seq {string.Join(", ", result.Receipts.Select(r => r.Seq))})");
        return result;
    }

    private static async Task<(ILocalClone Clone, CloneRegistrationResult Result)> RegisterCloneAsync(
        Uri gateway, string did, SigningKey cloneKey, string workDirectory, SyncConfig config, IReadOnlyList<Multiaddr>? bootstrap, CancellationToken ct)
    {
        if (bootstrap is null)
        {
            return await RemoteClone.RegisterAsync(gateway, did, cloneKey, workDirectory, config: config, cancellationToken: ct);
        }

        using (var exitNodes = new ExitNodeClient(gateway))
        {
            var served = await exitNodes.WaitServedOnLibp2pAsync(did, TimeSpan.FromSeconds(30), ct);
            Step($"exit node served on libp2p by gateway peer {served.PeerId}");
        }

        if (bootstrap.Count == 0)
        {
            var peer = await GatewayP2pPeer.GetAsync(gateway, cancellationToken: ct);
            Step($"bootstrap peer {peer.PeerId} (the gateway's, from GET /v1/p2p)");
            bootstrap = peer.Dialable;
        }

        return await P2pClone.RegisterAsync(bootstrap, did, cloneKey, workDirectory, config: config, cancellationToken: ct);
    }

    private static async Task WaitForAsync(ILocalClone clone, long seq, TimeSpan timeout, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        try
        {
            while (clone.Sync.Replica.Cursor < seq)
            {
                await Task.Delay(20, deadline.Token);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new CliException($"the clone did not reach seq {seq} within {timeout.TotalSeconds:0} s (it is at {clone.Sync.Replica.Cursor})");
        }
    }

    private static string Ok(bool value) => value ? "ok" : "FAILED";

    private static void Step(string text) => CliOutput.Line("[green]✓[/] ", text);
}
