using System.Globalization;
using System.Net;
using Vivim.Hosting;

namespace Vivim.Gateway.Hosting;

/// <summary>The API's listen addresses as <c>--urls</c> gives them, checked before the node starts.</summary>
public static class HttpListenUrls
{
    public const string Setting = "--urls";

    /// <exception cref="PortInUseException">Another process listens on one of <paramref name="urls"/>' ports.</exception>
    public static void EnsureFree(string urls)
    {
        ArgumentNullException.ThrowIfNull(urls);
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (Parse(url) is not var (address, port, scheme))
            {
                continue; // Kestrel reports what it cannot bind; this only catches the common case early.
            }

            if (!ListenPorts.IsFree(address, port))
            {
                throw new PortInUseException(port, $"the HTTP API, {url}", Setting, string.Create(CultureInfo.InvariantCulture, $"{scheme}://localhost:<another port>"));
            }
        }
    }

    /// <summary>The message for Kestrel's own address-in-use failure (a port taken between the check and the bind).</summary>
    public static string InUse(string kestrelMessage) =>
        $"{kestrelMessage.TrimEnd('.')}: another process listens there; start this node with {Setting} http://localhost:<another port>.";

    /// <summary>The address Kestrel binds for a URL: loopback for localhost, any for wildcards and host names.</summary>
    private static (IPAddress Address, int Port, string Scheme)? Parse(string url)
    {
        var hostStart = url.IndexOf("://", StringComparison.Ordinal);
        if (hostStart < 0)
        {
            return null;
        }

        var scheme = url[..hostStart];
        var authority = url[(hostStart + 3)..].Split('/')[0];
        var portSeparator = authority.LastIndexOf(':');
        if (portSeparator < 0 || authority.EndsWith(']')
            || !int.TryParse(authority[(portSeparator + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 0 or > 65535)
        {
            return null;
        }

        var host = authority[..portSeparator].Trim('[', ']');
        var address = host switch
        {
            "localhost" => IPAddress.Loopback,
            "*" or "+" => IPAddress.Any,
            _ when IPAddress.TryParse(host, out var literal) => literal,
            _ => IPAddress.Any,
        };
        return (address, port, scheme);
    }
}
