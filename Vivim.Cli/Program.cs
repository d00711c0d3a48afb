using System.CommandLine;
using Vivim.Cli.Commands;
using Vivim.Cli.P2p;

CliOutput.Configure();
var root = new RootCommand("vivim: the Vivim Cloud command line");
root.Options.Add(CommonOptions.Gateway);
root.Subcommands.Add(IdentityCommands.Create());
root.Subcommands.Add(TenantCommands.Create());
root.Subcommands.Add(NodeCommands.Create());
root.Subcommands.Add(CloneCommands.Create());
root.Subcommands.Add(DocumentCommands.Put());
root.Subcommands.Add(DocumentCommands.Get());
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(StatusCommand.Create());
var p2p = new Command("p2p", "libp2p tools");
p2p.Subcommands.Add(NodeCommand.Create());
root.Subcommands.Add(p2p);

var parse = root.Parse(args);
if (parse.Errors.Count > 0 && parse.Action is not System.CommandLine.Help.HelpAction)
{
    // One line, no usage dump: what is wrong and what is valid instead.
    await Console.Error.WriteLineAsync(UsageErrors.Describe(parse));
    return CliRunner.UsageError;
}

// SIGTERM / Ctrl-C cancel the command's token and the command stops itself (no forced exit after a timeout).
using var stop = new CancellationTokenSource();
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, Cancel);
using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, Cancel);
return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, stop.Token);

void Cancel(System.Runtime.InteropServices.PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}
