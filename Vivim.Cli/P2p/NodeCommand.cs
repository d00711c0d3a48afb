using System.CommandLine;
using System.Globalization;

namespace Vivim.Cli.P2p;

/// <summary><c>vivim p2p node</c>: a long-running libp2p peer driven by JSON lines (stdin commands, stdout events).</summary>
public static class NodeCommand
{
    public static Command Create()
    {
        var listen = new Option<string[]>("--listen") { Description = "multiaddr to listen on (repeatable)", DefaultValueFactory = _ => ["/ip4/127.0.0.1/tcp/0"] };
        var bootstrap = new Option<string[]>("--bootstrap") { Description = "multiaddr with /p2p/<id> dialled at start (repeatable)" };
        var seed = new Option<string?>("--seed-hex") { Description = "32-byte Ed25519 seed as hex (fixed identity)" };
        var subscribe = new Option<string[]>("--subscribe") { Description = "GossipSub topic to join at start (repeatable)" };
        var cmd = new Command("node", "run a libp2p peer (identify, ping, Kademlia server, GossipSub); JSON lines on stdin/stdout");
        cmd.Options.Add(listen);
        cmd.Options.Add(bootstrap);
        cmd.Options.Add(seed);
        cmd.Options.Add(subscribe);
        cmd.SetAction(async (parse, ct) =>
        {
            byte[]? seedBytes = null;
            if (parse.GetValue(seed) is { } hex)
            {
                try
                {
                    seedBytes = Convert.FromHexString(hex);
                }
                catch (FormatException)
                {
                    seedBytes = null;
                }
                if (seedBytes is not { Length: 32 })
                {
                    await Console.Error.WriteLineAsync("--seed-hex must be 32 bytes of hex");
                    return 2;
                }
            }
            var options = new NodeOptions(
                parse.GetValue(listen) is { Length: > 0 } l ? l : ["/ip4/127.0.0.1/tcp/0"],
                parse.GetValue(bootstrap) ?? [],
                seedBytes,
                parse.GetValue(subscribe) ?? []);
            try
            {
                await using var node = new P2pNode(options, new JsonLineWriter(Console.OpenStandardOutput()));
                await node.RunAsync(Console.OpenStandardInput(), ct);
                return 0;
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or Vivim.Libp2p.Core.Libp2pException or System.Net.Sockets.SocketException)
            {
                await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"vivim p2p node: {ex.Message}"));
                return 1;
            }
        });
        return cmd;
    }
}
