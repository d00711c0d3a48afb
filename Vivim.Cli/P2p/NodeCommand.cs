using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using Vivim.Libp2p.Core;

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
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                await Console.Error.WriteLineAsync($"vivim p2p node: {BusyListenAddress(options.Listen)} is already in use by another process: pass another --listen port (tcp/0 picks a free one).");
                return 1;
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or Vivim.Libp2p.Core.Libp2pException or SocketException)
            {
                await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"vivim p2p node: {ex.Message}"));
                return 1;
            }
        });
        return cmd;
    }

    /// <summary>Names the --listen address whose port is taken ("port N (multiaddr)"), found by binding each again.</summary>
    private static string BusyListenAddress(IReadOnlyList<string> listen)
    {
        foreach (var text in listen)
        {
            if (Multiaddr.TryParse(text, out var address) && address!.ToTcpEndPoint() is { Port: > 0 } endPoint)
            {
                using var probe = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    probe.Bind(endPoint);
                }
                catch (SocketException)
                {
                    return string.Create(CultureInfo.InvariantCulture, $"port {endPoint.Port} ({text}, --listen)");
                }
            }
        }

        return $"a --listen address ({string.Join(", ", listen)})";
    }
}
