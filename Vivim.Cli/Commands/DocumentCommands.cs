using System.CommandLine;
using Spectre.Console;
using Vivim.Client.Http;
using Vivim.Protocol;
using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.State;
using Vivim.Protocol.Sync;

namespace Vivim.Cli.Commands;

/// <summary><c>vivim put</c> / <c>vivim get</c>: documents of a hosted parent, as its owner (tenant key) or through a clone.</summary>
public static class DocumentCommands
{
    public const string AsCloneName = "--as-clone";

    public static Command Put()
    {
        var node = CommonOptions.Node();
        var path = new Option<string>("--path") { Description = "document path, category/key (e.g. memoryIndex/notes/1)", Required = true };
        var data = new Option<string?>("--data") { Description = "the document as JSON (not needed for delete)" };
        var operation = new Option<string>("--operation") { Description = "create (default), update or delete", DefaultValueFactory = _ => "create" };
        var asClone = new Option<string?>(AsCloneName) { Description = "write through this registered clone (signed by the local identity) instead of as the owner" };
        var apiKey = CommonOptions.ApiKey();
        var command = new Command("put", "write a document (atomic; the receipt carries its seq and root)") { node, path, data, operation, asClone, apiKey };
        CliRunner.SetAction(command, async (parse, ct) =>
        {
            var documentPath = parse.GetValue(path)!;
            var type = TypeOf(documentPath);
            var op = parse.GetValue(operation) switch
            {
                "create" => UpdateOperation.Create,
                "update" => UpdateOperation.Update,
                "delete" => UpdateOperation.Delete,
                var other => throw new CliUsageException($"--operation must be create, update or delete, not '{other}'."),
            };
            var document = parse.GetValue(data) is { } text ? Document(text)
                : op == UpdateOperation.Delete ? RawJson.Null
                : throw new CliUsageException($"--data is required to {op.ToString().ToLowerInvariant()} {documentPath}: pass the document as JSON, e.g. --data '{{\"text\":\"hello\"}}'.");
            SubmitResult result;
            if (parse.GetValue(asClone) is { } cloneId)
            {
                var home = CliHome.FromEnvironment();
                using var key = home.LoadIdentity();
                await using var clone = RemoteClone.Open(home.CloneDirectory(cloneId), key, new SyncConfig(AutoSync: false), gateway: CloneCommands.ExplicitGateway(parse));
                result = await CloneCommands.ReachingAsync(clone, () => clone.Writer.SubmitAsync(type, op, documentPath, document, cancellationToken: ct));
            }
            else
            {
                var did = CliHome.FromEnvironment().Node(parse.GetValue(node));
                using var tenant = NodeCommands.Tenant(parse, apiKey);
                result = await NodeCommands.OnNodeAsync(tenant, CommonOptions.GatewayOf(parse), did, () => tenant.WriteAsync(did, [new OwnerUpdate(type, op, documentPath, document)], ct), ct);
            }

            Report(result);
        });
        return command;
    }

    public static Command Get()
    {
        var node = CommonOptions.Node();
        var path = new Option<string>("--path") { Description = "document path, category/key", Required = true };
        var fromClone = new Option<string?>("--from-clone") { Description = "read this registered clone's local replica instead of the gateway" };
        var apiKey = CommonOptions.ApiKey();
        var command = new Command("get", "read a document (its Merkle proof checked against the root served with it)") { node, path, fromClone, apiKey };
        CliRunner.SetAction(command, async (parse, ct) =>
        {
            var documentPath = parse.GetValue(path)!;
            if (parse.GetValue(fromClone) is { } cloneId)
            {
                var home = CliHome.FromEnvironment();
                using var key = home.LoadIdentity();
                await using var clone = RemoteClone.Open(home.CloneDirectory(cloneId), key, new SyncConfig(AutoSync: false), gateway: CloneCommands.ExplicitGateway(parse));
                if (!clone.Sync.Replica.TryGetDocument(documentPath, out var local))
                {
                    throw new CliException($"{documentPath} is not in the clone's replica (at seq {clone.Sync.Replica.Cursor}).");
                }

                Console.Out.WriteLine(local.Text);
                await Console.Error.WriteLineAsync($"local replica at seq {clone.Sync.Replica.Cursor}, root {clone.Sync.Replica.Root}");
                return;
            }

            var did = CliHome.FromEnvironment().Node(parse.GetValue(node));
            using var tenant = NodeCommands.Tenant(parse, apiKey);
            var gateway = CommonOptions.GatewayOf(parse);
            var proof = await NodeCommands.OnNodeAsync(tenant, gateway, did, () => tenant.GetDocumentAsync(did, documentPath, ct), ct);
            if (proof is null)
            {
                // The gateway says "not found" alike for a missing document and a missing (or another tenant's) node.
                throw await NodeCommands.NodeMissingAsync(tenant, gateway, did, ct)
                    ?? new CliException($"exit node {did} has no document {documentPath}: 'vivim put --path {documentPath} --data <json>' writes one.");
            }

            Console.Out.WriteLine(proof.Document.Text);
            await Console.Error.WriteLineAsync($"seq {proof.Seq}, root {proof.Root}, merkle proof verified");
        });
        return command;
    }

    private static RawJson Document(string text)
    {
        try
        {
            return RawJson.From(ProtocolJson.Parse(text));
        }
        catch (ProtocolException e)
        {
            throw new CliUsageException($"--data is not valid JSON ({e.Message}); quote it for the shell, e.g. --data '{{\"text\":\"hello\"}}'.");
        }
    }

    /// <summary>The update type a path's category takes.</summary>
    public static UpdateType TypeOf(string path)
    {
        var category = path.Split('/')[0];
        foreach (var type in Enum.GetValues<UpdateType>())
        {
            if (StateRules.CategoryOf(type) == category)
            {
                return type;
            }
        }

        throw new CliUsageException($"--path '{path}' is not under a state category ({string.Join(", ", StateRules.Categories)}).");
    }

    private static void Report(SubmitResult result)
    {
        if (result.Outcome != SubmitOutcome.Committed)
        {
            var rejection = result.Rejections.FirstOrDefault(r => r.Code != RejectionCodes.BatchAborted) ?? result.Rejections.FirstOrDefault();
            throw new CliException($"refused ({result.Outcome.ToString().ToLowerInvariant()}): {rejection?.Code}: {rejection?.Reason}");
        }

        foreach (var receipt in result.Receipts)
        {
            AnsiConsole.WriteLine($"seq {receipt.Seq} root {receipt.Root} ({receipt.UpdateId})");
        }
    }
}
