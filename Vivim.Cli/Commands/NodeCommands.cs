using System.CommandLine;
using System.Globalization;
using System.Net;
using Spectre.Console;
using Vivim.Client.Http;
using Vivim.Protocol.Model;

namespace Vivim.Cli.Commands;

/// <summary><c>vivim node create|list|advertise|policy|clones|suspend|reinstate</c>: a tenant's hosted exit nodes.</summary>
public static class NodeCommands
{
    public static Command Create()
    {
        var node = new Command("node", "hosted exit nodes (tenant API key)");
        node.Subcommands.Add(CreateNode());
        node.Subcommands.Add(List());
        node.Subcommands.Add(Advertise());
        node.Subcommands.Add(Policy());
        node.Subcommands.Add(Clones());
        node.Subcommands.Add(Trust("suspend", "suspend a clone at once (sessions close, reads and writes refused)", suspend: true));
        node.Subcommands.Add(Trust("reinstate", "reinstate a suspended clone", suspend: false));
        return node;
    }

    private static Command CreateNode()
    {
        var capabilities = Capabilities();
        var (maxClones, allowMigration, requireVerification) = PolicyOptions();
        var apiKey = CommonOptions.ApiKey();
        var command = new Command("create", "create a hosted exit node with a custodial did:key") { capabilities, maxClones, allowMigration, requireVerification, apiKey };
        CliRunner.SetAction(command, async (parse, ct) =>
        {
            using var tenant = Tenant(parse, apiKey);
            var policy = new ExitNodePolicy(parse.GetValue(maxClones) ?? 100, parse.GetValue(allowMigration) ?? true, parse.GetValue(requireVerification) ?? true);
            var (did, advertisement) = await tenant.CreateExitNodeAsync(NullIfEmpty(parse.GetValue(capabilities)), policy, cancellationToken: ct);
            CliHome.FromEnvironment().SaveDefaultNode(did);
            AnsiConsole.WriteLine(did);
            await Console.Error.WriteLineAsync($"advertising {string.Join(", ", advertisement.Capabilities)}; maxClones {advertisement.Policy.MaxClones}");
        });
        return command;
    }

    private static Command List()
    {
        var apiKey = CommonOptions.ApiKey();
        var command = new Command("list", "list the tenant's exit nodes") { apiKey };
        CliRunner.SetAction(command, async (parse, ct) =>
        {
            using var tenant = Tenant(parse, apiKey);
            var table = new Table().AddColumns("did", "head seq", "clones");
            foreach (var node in await tenant.ListExitNodesAsync(ct))
            {
                CliOutput.AddRow(table, node.Did, node.HeadSeq.ToString(CultureInfo.InvariantCulture), node.CloneCount.ToString(CultureInfo.InvariantCulture));
            }

            AnsiConsole.Write(table);
        });
        return command;
    }

    private static Command Advertise()
    {
        var nodeOption = CommonOptions.Node();
        var capabilities = Capabilities();
        var apiKey = CommonOptions.ApiKey();
        var command = new Command("advertise", "show the node's verified advertisement, or change its capabilities and re-advertise") { nodeOption, capabilities, apiKey };
        CliRunner.SetAction(command, async (parse, ct) =>
        {
            var gateway = CommonOptions.GatewayOf(parse);
            var did = CliHome.FromEnvironment().Node(parse.GetValue(nodeOption));
            ExitNodeAdvertisement advertisement;
            if (NullIfEmpty(parse.GetValue(capabilities)) is { } changed)
            {
                using var tenant = Tenant(parse, apiKey);
                advertisement = await OnNodeAsync(tenant, gateway, did, () => tenant.UpdateAdvertisementAsync(did, changed, cancellationToken: ct), ct);
            }
            else
            {
                using var exitNodes = new ExitNodeClient(gateway);
                advertisement = await exitNodes.GetAdvertisementAsync(did, ct);
            }

            Print(advertisement);
        });
        return command;
    }

    private static Command Policy()
    {
        var nodeOption = CommonOptions.Node();
        var (maxClones, allowMigration, requireVerification) = PolicyOptions();
        var apiKey = CommonOptions.ApiKey();
        var command = new Command("policy", "change the node's registration policy (unset options keep their value)") { nodeOption, maxClones, allowMigration, requireVerification, apiKey };
        CliRunner.SetAction(command, async (parse, ct) =>
        {
            var gateway = CommonOptions.GatewayOf(parse);
            var did = CliHome.FromEnvironment().Node(parse.GetValue(nodeOption));
            using var tenant = Tenant(parse, apiKey);
            using var exitNodes = new ExitNodeClient(gateway);
            Print(await OnNodeAsync(tenant, gateway, did, async () =>
            {
                var current = (await exitNodes.GetAdvertisementAsync(did, ct)).Policy;
                var policy = new ExitNodePolicy(
                    parse.GetValue(maxClones) ?? current.MaxClones,
                    parse.GetValue(allowMigration) ?? current.AllowMigration,
                    parse.GetValue(requireVerification) ?? current.RequireVerification);
                return await tenant.UpdateAdvertisementAsync(did, policy: policy, cancellationToken: ct);
            }, ct));
        });
        return command;
    }

    private static Command Clones()
    {
        var nodeOption = CommonOptions.Node();
        var apiKey = CommonOptions.ApiKey();
        var command = new Command("clones", "list the node's clones") { nodeOption, apiKey };
        CliRunner.SetAction(command, async (parse, ct) =>
        {
            var did = CliHome.FromEnvironment().Node(parse.GetValue(nodeOption));
            using var tenant = Tenant(parse, apiKey);
            var clones = await OnNodeAsync(tenant, CommonOptions.GatewayOf(parse), did, () => tenant.ListClonesAsync(did, ct), ct);
            var table = new Table().AddColumns("clone", "did", "trust", "permissions", "migration", "cursor", "connected", "pending");
            foreach (var c in clones)
            {
                CliOutput.AddRow(
                    table,
                    (c.CloneId), c.Did, c.TrustLevel.ToString().ToLowerInvariant(), string.Join(",", c.Permissions),
                    c.MigrationType.ToString().ToLowerInvariant(), c.Cursor.ToString(CultureInfo.InvariantCulture), c.Connected ? "yes" : "no",
                    c.PendingUpdates.ToString(CultureInfo.InvariantCulture));
            }

            AnsiConsole.Write(table);
        });
        return command;
    }

    private static Command Trust(string name, string description, bool suspend)
    {
        var nodeOption = CommonOptions.Node();
        var clone = new Option<string>("--clone") { Description = "the clone id", Required = true };
        var reason = new Option<string?>("--reason") { Description = "why (kept in the signed record)" };
        var apiKey = CommonOptions.ApiKey();
        var command = new Command(name, description) { nodeOption, clone, reason, apiKey };
        CliRunner.SetAction(command, async (parse, ct) =>
        {
            var did = CliHome.FromEnvironment().Node(parse.GetValue(nodeOption));
            using var tenant = Tenant(parse, apiKey);
            var proof = await OnNodeAsync(tenant, CommonOptions.GatewayOf(parse), did, () => suspend
                ? tenant.SuspendCloneAsync(did, parse.GetValue(clone)!, parse.GetValue(reason), ct)
                : tenant.ReinstateCloneAsync(did, parse.GetValue(clone)!, parse.GetValue(reason), ct), ct);
            AnsiConsole.WriteLine($"{parse.GetValue(clone)}: {proof.Payload.TrustLevel?.ToString().ToLowerInvariant()} (signed by {proof.Issuer})");
        });
        return command;
    }

    internal static TenantClient Tenant(ParseResult parse, Option<string?> apiKey) =>
        new(CommonOptions.GatewayOf(parse), CliHome.FromEnvironment().ApiKey(parse.GetValue(apiKey)));

    /// <summary>
    /// A tenant call about one exit node. The gateway answers a node that is missing or another tenant's with a bare 404
    /// (on purpose: outsiders must not learn which DIDs exist), so on a 404 the node itself is looked up to say which it was.
    /// </summary>
    internal static async Task<T> OnNodeAsync<T>(TenantClient tenant, Uri gateway, string did, Func<Task<T>> call, CancellationToken ct)
    {
        try
        {
            return await call();
        }
        catch (GatewayException e) when (e.Status == HttpStatusCode.NotFound)
        {
            if (await NodeMissingAsync(tenant, gateway, did, ct) is { } missing)
            {
                throw missing;
            }

            throw;
        }
    }

    /// <summary>The error to give when this tenant has no exit node <paramref name="did"/>; null when it has.</summary>
    internal static async Task<CliException?> NodeMissingAsync(TenantClient tenant, Uri gateway, string did, CancellationToken ct)
    {
        try
        {
            await tenant.GetExitNodeAsync(did, ct);
            return null;
        }
        catch (GatewayException e) when (e.Status == HttpStatusCode.NotFound)
        {
            return new CliException($"this tenant has no exit node {did} at {gateway}: check the DID ('vivim node list' shows the tenant's exit nodes).");
        }
    }

    private static Option<string[]> Capabilities() =>
        new("--capability") { Description = "a capability to advertise (repeatable): storage, memory, identity, content, …", AllowMultipleArgumentsPerToken = true };

    private static (Option<int?> MaxClones, Option<bool?> AllowMigration, Option<bool?> RequireVerification) PolicyOptions() => (
        new Option<int?>("--max-clones") { Description = "at most this many clones" },
        new Option<bool?>("--allow-migration") { Description = "allow relay and fork registrations (true|false)" },
        new Option<bool?>("--require-verification") { Description = "require the challenge (true|false)" });

    private static string[]? NullIfEmpty(string[]? values) => values is { Length: > 0 } ? values : null;

    private static void Print(ExitNodeAdvertisement advertisement)
    {
        var table = new Table().HideHeaders().AddColumns("field", "value");
        CliOutput.AddRow(table, "did", advertisement.Did);
        CliOutput.AddRow(table, "capabilities", string.Join(", ", advertisement.Capabilities));
        CliOutput.AddRow(table, "policy", $"maxClones {advertisement.Policy.MaxClones}, allowMigration {advertisement.Policy.AllowMigration}, requireVerification {advertisement.Policy.RequireVerification}");
        CliOutput.AddRow(table, "endpoints", $"clone {advertisement.Endpoints.CloneEndpoint}, sync {advertisement.Endpoints.Sync}");
        CliOutput.AddRow(table, "anchorState", $"merkleRoot {advertisement.AnchorState.MerkleRoot} (v1 signature verified)");
        CliOutput.AddRow(table, "proof", "v2 verified");
        AnsiConsole.Write(table);
    }
}
