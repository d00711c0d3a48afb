using System.Net;
using System.Net.Sockets;
using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Transport.Tcp;

/// <summary>Raw TCP: dial and listen on /ip4|ip6/.../tcp/... multiaddrs. Nagle is disabled.</summary>
public static class TcpTransport
{
    public static bool CanDial(Multiaddr addr) => addr.ToTcpEndPoint() is not null;

    public static async Task<Socket> DialAsync(Multiaddr addr, CancellationToken ct)
    {
        var ep = addr.ToTcpEndPoint() ?? throw new ArgumentException($"not a TCP multiaddr: {addr}", nameof(addr));
        var s = new Socket(ep.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await s.ConnectAsync(ep, ct).ConfigureAwait(false);
            return s;
        }
        catch
        {
            s.Dispose();
            throw;
        }
    }

    public static Socket Listen(Multiaddr addr, int backlog = 512)
    {
        var ep = addr.ToTcpEndPoint() ?? throw new ArgumentException($"not a TCP multiaddr: {addr}", nameof(addr));
        var s = new Socket(ep.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            s.Bind(ep);
            s.Listen(backlog);
            return s;
        }
        catch
        {
            s.Dispose();
            throw;
        }
    }

    /// <summary>For 0.0.0.0 / :: listeners: the concrete interface addresses of that family (what identify advertises).</summary>
    public static IReadOnlyList<Multiaddr> ExpandUnspecified(Multiaddr listen)
    {
        var ep = listen.ToTcpEndPoint();
        if (ep is null || !(ep.Address.Equals(IPAddress.Any) || ep.Address.Equals(IPAddress.IPv6Any)))
        {
            return [listen];
        }
        var result = new List<Multiaddr>();
        foreach (var nic in System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.OperationalStatus != System.Net.NetworkInformation.OperationalStatus.Up)
            {
                continue;
            }
            foreach (var ua in nic.GetIPProperties().UnicastAddresses)
            {
                if (ua.Address.AddressFamily == ep.AddressFamily && !ua.Address.IsIPv6LinkLocal)
                {
                    result.Add(Multiaddr.FromTcpEndPoint(new IPEndPoint(ua.Address, ep.Port)));
                }
            }
        }
        return result.Count > 0 ? result : [listen];
    }

    public static Multiaddr LocalAddress(Socket s) => Multiaddr.FromTcpEndPoint((IPEndPoint)s.LocalEndPoint!);

    public static Multiaddr RemoteAddress(Socket s) => Multiaddr.FromTcpEndPoint((IPEndPoint)s.RemoteEndPoint!);
}
