using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Vivim.Tests.Support;

public static class FreePort
{
    private static readonly (int Low, int High) Range = OutsideEphemeralRange();
    private static int _next = Random.Shared.Next(0, 1 << 20);

    /// <summary>
    /// A loopback TCP port nothing listens on right now (for services that need a fixed port, like a silo). Taken below
    /// the kernel's ephemeral range when there is room: a port from that range can be handed, between this check and
    /// the bind, to any socket binding port 0 or dialling out, which once failed a gateway's start in a clean-clone run.
    /// </summary>
    public static int Next()
    {
        if (Range.High > Range.Low)
        {
            for (var attempt = 0; attempt < 2000; attempt++)
            {
                var port = Range.Low + (int)((uint)Interlocked.Increment(ref _next) % (uint)(Range.High - Range.Low));
                if (IsFree(port))
                {
                    return port;
                }
            }
        }

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>[10000, the ephemeral range's start) on Linux; an empty range elsewhere (then port 0 is asked for).</summary>
    private static (int Low, int High) OutsideEphemeralRange()
    {
        try
        {
            var text = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            var start = int.Parse(text[0], CultureInfo.InvariantCulture);
            return start > 11_000 ? (10_000, start) : (0, 0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return (0, 0);
        }
    }
}
