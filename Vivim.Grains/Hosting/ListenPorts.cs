using System.Net;
using System.Net.Sockets;

namespace Vivim.Hosting;

/// <summary>
/// Checks, before a listener starts, that nothing else listens on its port. Orleans binds its silo and gateway
/// listeners with address reuse, which on Linux also sets SO_REUSEPORT: a second node on the same port would start
/// without an error and the kernel would share connections between the two.
/// </summary>
public static class ListenPorts
{
    /// <summary>True when <paramref name="address"/>:<paramref name="port"/> can be bound exclusively right now.</summary>
    public static bool IsFree(IPAddress address, int port)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (port == 0)
        {
            return true;
        }

        using var probe = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (OperatingSystem.IsWindows())
        {
            probe.ExclusiveAddressUse = true;
        }

        // No SO_REUSEPORT here: on Linux .NET sets only SO_REUSEADDR on bind, which tolerates a previous run's
        // TIME_WAIT connections but not another listener, reuse or not.
        try
        {
            probe.Bind(new IPEndPoint(address, port));
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            return false;
        }
        catch (SocketException)
        {
            // Not a conflict (e.g. a privileged port): the listener itself reports it.
            return true;
        }
    }

    /// <exception cref="PortInUseException">Another process listens on the port.</exception>
    public static void EnsureFree(IPAddress address, int port, string purpose, string setting)
    {
        if (!IsFree(address, port))
        {
            throw new PortInUseException(port, purpose, setting, "<another port>");
        }
    }
}
