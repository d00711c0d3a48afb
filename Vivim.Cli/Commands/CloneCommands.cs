using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Vivim.Client.Http;
using Vivim.Protocol.Model;

namespace Vivim.Cli.Commands;

/// <summary><c>vivim clone register|status|sync</c>: this machine as a clone of a hosted parent, kept under VIVIM_HOME/clones.</summary>
public static class CloneCommands
{
    public static Command Create()
    {
        var clone = new Command("clone", "this machine as a clone (signed with the local identity)");
        clone.Subcommands.Add(Register());
        clone.Subcommands.Add(Status());
        clone.Subcommands.Add(Sync());
        return clone;
    }

    /// <summary>A clone talks to the gateway it registered with, unless <c>--gateway</c> says otherwise.</summary>
    internal static Uri? ExplicitGateway(ParseResult parse) =>
        parse.GetValue(CommonOptions.Gateway) is { } gateway ? CliHome.Gateway(gateway) : null;

    /// <summary>A call through a clone: a gateway it cannot reach is named as the clone knows it (its registration's, or --gateway).</summary>
    internal static async Task<T> ReachingAsync<T>(RemoteClone clone, Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (HttpRequestException e)
        {
            throw new CliException(CliRunner.Unreachable(clone.Transport.Gateway.AbsoluteUri, e));
        }
    }

    private static Command Register()
    {
        var node = new Option<string>("--node") { Description = "the exit node's DID", Required = true };
        var capabilities = new Option<string[]>("--capability") { Description = "a desired capability (repeatable; default: what the node advertises)", AllowMultipleArgumentsPerToken = true };
        var migration = new Option<string?>("--migration") { Description = "mirror (default), relay or fork" };
        var command = new Command("register", "discover the exit node, verify it, answer its challenge, register, and keep the verified snapshot") { node, capabilities, migration };
        CliRunner.SetAction(command, async (parse, ct) =>
        {
            var parentDid = CliHome.CheckedDid(parse.GetValue(node)!, "--node");
            MigrationType? migrationType = parse.GetValue(migration) switch
            {
                null => null,
                "mirror" => MigrationType.Mirror,
                "relay" => MigrationType.Relay,
                "fork" => MigrationType.Fork,
                var other => throw new CliUsageException($"--migration must be mirror, relay or fork, not '{other}'."),
            };
            var gateway = CommonOptions.GatewayOf(parse);
            var home = CliHome.FromEnvironment();
            using var key = home.LoadOrCreateIdentity();
            var (clone, result) = await RemoteClone.RegisterAsync(
                gateway, parentDid, key, home.ClonesRoot, parse.GetValue(capabilities) is { Length: > 0 } c ? c : null, migrationType, cancellationToken: ct);
            await using (clone)
            {
                AnsiConsole.WriteLine(clone.CloneId);
                await Console.Error.WriteLineAsync($"trust {result.Response.TrustProof?.Payload.TrustLevel?.ToString().ToLowerInvariant()}, permissions {string.Join(",", result.Response.TrustProof?.Payload.Permissions ?? [])}; snapshot: {result.Snapshot}; seq {clone.Sync.Replica.Cursor}");
            }
        });
        return command;
    }

    private static Command Status()
    {
        var cloneOption = CommonOptions.Clone();
        var command = new Command("status", "the clone's local replica and its status at the parent") { cloneOption };
        CliRunner.SetAction(command, async (parse, ct) =>
        {
            var home = CliHome.FromEnvironment();
            using var key = home.LoadIdentity();
            await using var clone = RemoteClone.Open(home.CloneDirectory(parse.GetValue(cloneOption)), key, gateway: ExplicitGateway(parse));
            var remote = await ReachingAsync(clone, () => clone.Transport.GetStatusAsync(ct));
            var table = new Table().HideHeaders().AddColumns("field", "value");
            CliOutput.AddRow(table, "clone", clone.CloneId);
            CliOutput.AddRow(table, "parent", clone.Registration.ParentDid);
            CliOutput.AddRow(table, "gateway", clone.Registration.Gateway);
            CliOutput.AddRow(table, "local cursor", clone.Sync.Replica.Cursor.ToString(CultureInfo.InvariantCulture));
            CliOutput.AddRow(table, "local root", clone.Sync.Replica.Root);
            CliOutput.AddRow(table, "documents", clone.Sync.Replica.Count.ToString(CultureInfo.InvariantCulture));
            CliOutput.AddRow(table, "parent's head", remote.HeadSeq.ToString(CultureInfo.InvariantCulture));
            CliOutput.AddRow(table, "acknowledged cursor", remote.Cursor.ToString(CultureInfo.InvariantCulture));
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
        var command = new Command("sync", "sync live over the WebSocket, printing every event, until Ctrl+C") { cloneOption, once, compression };
        CliRunner.SetAction(command, async (parse, ct) =>
        {
            var home = CliHome.FromEnvironment();
            using var key = home.LoadIdentity();
            var config = new SyncConfig(AutoSync: !parse.GetValue(once), Compression: parse.GetValue(compression));
            await using var clone = RemoteClone.Open(home.CloneDirectory(parse.GetValue(cloneOption)), key, config, gateway: ExplicitGateway(parse));
            if (clone.Store.LastLoadProblem is { } problem)
            {
                await Console.Error.WriteLineAsync($"the saved replica was set aside ({problem}); taking a new snapshot");
            }

            EventPrinter.Attach(clone.Sync, clone.Transport);
            AnsiConsole.WriteLine($"clone {clone.CloneId} of {clone.Registration.ParentDid}, resuming after seq {clone.Sync.Replica.Cursor}");
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
}
