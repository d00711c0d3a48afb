using System.CommandLine;
using Vivim.Cli.P2p;

var root = new RootCommand("vivim: the Vivim Cloud command line");
var p2p = new Command("p2p", "libp2p tools");
p2p.Subcommands.Add(NodeCommand.Create());
root.Subcommands.Add(p2p);
return await root.Parse(args).InvokeAsync();
