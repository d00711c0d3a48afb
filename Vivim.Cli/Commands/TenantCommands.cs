using System.CommandLine;
using Spectre.Console;
using Vivim.Client.Http;

namespace Vivim.Cli.Commands;

/// <summary><c>vivim tenant create|delete</c>: operator calls.</summary>
public static class TenantCommands
{
    public static Command Create()
    {
        var tenant = new Command("tenant", "tenants (operator key)");

        var name = new Option<string>("--name") { Description = "the tenant's name", Required = true };
        var operatorKey = CommonOptions.OperatorKey();
        var create = new Command("create", "create a tenant and keep its API key in VIVIM_HOME/tenant.json") { name, operatorKey };
        CliRunner.SetAction(create, async (parse, ct) =>
        {
            var gateway = CommonOptions.GatewayOf(parse);
            using var client = new OperatorClient(gateway, CliHome.OperatorKey(parse.GetValue(operatorKey)));
            var (tenantId, apiKey) = await client.CreateTenantAsync(parse.GetValue(name)!, ct);
            var home = CliHome.FromEnvironment();
            home.SaveTenant(gateway, tenantId, apiKey);
            AnsiConsole.WriteLine(tenantId);
            await Console.Error.WriteLineAsync($"API key saved to {home.TenantPath}");
        });

        var id = new Option<string?>("--id") { Description = "tenant id (else the one saved here)" };
        var deleteKey = CommonOptions.OperatorKey();
        var delete = new Command("delete", "delete a tenant with its exit nodes, clones and data") { id, deleteKey };
        CliRunner.SetAction(delete, async (parse, ct) =>
        {
            var home = CliHome.FromEnvironment();
            var tenantId = parse.GetValue(id) ?? home.TenantId() ?? throw new CliException($"No tenant saved in {home.TenantPath}: pass --id <tenant id>.");
            using var client = new OperatorClient(CommonOptions.GatewayOf(parse), CliHome.OperatorKey(parse.GetValue(deleteKey)));
            await client.DeleteTenantAsync(tenantId, ct);
            AnsiConsole.WriteLine($"deleted {tenantId}");
        });

        tenant.Subcommands.Add(create);
        tenant.Subcommands.Add(delete);
        return tenant;
    }
}
