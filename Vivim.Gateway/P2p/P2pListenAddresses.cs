using System.Globalization;
using Vivim.Hosting;
using Vivim.Libp2p.Core;

namespace Vivim.Gateway.P2p;

/// <summary>The libp2p listen addresses, checked before the node starts like the API's and the silo's ports.</summary>
public static class P2pListenAddresses
{
    /// <summary>The flag that moves the (first) libp2p listen address.</summary>
    public const string Setting = "--" + P2pOptions.Section + ":Listen:0";

    /// <exception cref="PortInUseException">Another process listens on one of <paramref name="listen"/>'s ports.</exception>
    public static void EnsureFree(IEnumerable<string> listen)
    {
        ArgumentNullException.ThrowIfNull(listen);
        foreach (var text in listen)
        {
            if (Multiaddr.TryParse(text, out var address) && address!.ToTcpEndPoint() is { } endPoint && !ListenPorts.IsFree(endPoint.Address, endPoint.Port))
            {
                throw InUse(text, endPoint.Port);
            }
        }
    }

    /// <summary>The error for <paramref name="address"/>'s port being taken (also when the bind itself finds it so).</summary>
    public static PortInUseException InUse(string address, int port)
    {
        var family = address.StartsWith("/ip6/", StringComparison.Ordinal) ? "/ip6/::1" : "/ip4/127.0.0.1";
        return new PortInUseException(port, "libp2p, " + address, Setting, string.Create(CultureInfo.InvariantCulture, $"{family}/tcp/<another port>"));
    }
}
