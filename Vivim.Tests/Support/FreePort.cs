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

    /// <summary>
    /// The first of <paramref name="count"/> consecutive free loopback ports (Azurite takes blob, queue and table ports
    /// in a row through <c>infra/dev/azurite.sh</c>).
    /// </summary>
    public static int NextRun(int count)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var first = Next();
            if (Enumerable.Range(first + 1, count - 1).All(p => p < 65_536 && IsFree(p)))
            {
                // Past the run, so that Next() does not hand its other ports out while their server is stopped.
                Interlocked.Add(ref _next, count - 1);
                return first;
            }
        }

        throw new InvalidOperationException($"No {count} consecutive free ports found.");
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
