using System.CommandLine;
using Vivim.Cli.P2p;

var root = new RootCommand("vivim: the Vivim Cloud command line");
var p2p = new Command("p2p", "libp2p tools");
p2p.Subcommands.Add(NodeCommand.Create());
root.Subcommands.Add(p2p);
// SIGTERM / Ctrl-C cancel the command's token and the node stops itself (no forced exit after a timeout).
using var stop = new CancellationTokenSource();
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, Cancel);
using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, Cancel);
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, stop.Token);

void Cancel(System.Runtime.InteropServices.PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}
