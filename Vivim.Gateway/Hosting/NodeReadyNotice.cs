using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Vivim.Gateway.Auth;
using Vivim.Gateway.P2p;
using Vivim.Hosting;
using Vivim.Security;

namespace Vivim.Gateway.Hosting;

/// <summary>
/// The one block a node logs when it is ready: where it listens, where its data and operator key are, and the command
/// to type next. Never the key itself.
/// </summary>
public sealed partial class NodeReadyNotice(IServer server, StorageLocation location, OperatorKey operatorKey, GatewayPeerService p2p, ILogger<NodeReadyNotice> logger)
{
    public const string Heading = "Vivim node ready.";

    public const string DemoCommand = "dotnet run --project Vivim.Cli -- demo";

    /// <summary>The CLI's default gateway (<c>vivim --gateway</c>, <c>VIVIM_GATEWAY</c>).</summary>
    public const string CliDefaultGateway = "http://localhost:8080";

    public void Log()
    {
        var urls = server.Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? [];
        LogReady(logger, Describe(urls));
    }

    /// <summary>The block's text (lines after the first are indented for the console).</summary>
    public string Describe(IReadOnlyList<string> urls)
    {
        var gateway = urls.Select(Reachable).FirstOrDefault() ?? CliDefaultGateway;
        var next = DemoCommand;
        if (!string.Equals(gateway, CliDefaultGateway, StringComparison.OrdinalIgnoreCase))
        {
            next += " --gateway " + gateway;
        }

        string keyLine;
        if (operatorKey.FilePath is { } keyFile)
        {
            keyLine = keyFile;

            // The CLI finds the key by itself only at data/operator.key under its own directory.
            if (!string.Equals(keyFile, Path.GetFullPath(Path.Combine("data", OperatorKey.FileName)), StringComparison.Ordinal))
            {
                next += $" --operator-key \"$(cat '{keyFile}')\"";
            }
        }
        else
        {
            keyLine = "set by Vivim:OperatorKey";
            next += " --operator-key <your Vivim:OperatorKey>";
        }

        return string.Join(
            Environment.NewLine,
            Heading,
            "  API:          " + string.Join(", ", urls),
            "  libp2p:       " + Libp2pLine(),
            "  data:         " + (location.DataPath ?? location.Describe()),
            "  operator key: " + keyLine,
            "  next, in another terminal in this directory:",
            "    " + next);
    }

    /// <summary>Where the peer listens, dialable as written (with <c>/p2p/</c>), or why there is none.</summary>
    private string Libp2pLine() => p2p.Peer is { } peer
        ? string.Join(", ", peer.Host.ListenAddresses.Select(a => a.WithPeerId(peer.PeerId)))
        : p2p.Enabled ? "not running" : "disabled (Vivim:P2p:Enabled=false)";

    /// <summary>A URL a client on this machine can use: a wildcard listen address is reached on localhost.</summary>
    private static string Reachable(string url)
    {
        var uri = new UriBuilder(url.Replace("://+", "://localhost", StringComparison.Ordinal).Replace("://*", "://localhost", StringComparison.Ordinal));
        if (uri.Host is "0.0.0.0" or "[::]")
        {
            uri.Host = "localhost";
        }

        return uri.Uri.GetLeftPart(UriPartial.Authority);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Notice}")]
    private static partial void LogReady(ILogger logger, string notice);
}
