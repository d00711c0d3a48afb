using System.Net;
using System.Net.Sockets;

namespace Vivim.Tests.Support;

public static class FreePort
{
    /// <summary>A loopback TCP port nothing listens on right now (for services that need a fixed port, like a silo).</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
