using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Vivim.Hosting;

namespace Vivim.Management;

/// <summary>The management port as this host resolved it from <see cref="ManagementOptions"/> and <see cref="DashboardSettings"/>.</summary>
/// <param name="Urls">Where it listens; empty when it is off.</param>
/// <param name="Explicit">Configured (a taken port stops the host), not the embedded node's default (which is skipped).</param>
public sealed record ManagementSettings(IReadOnlyList<string> Urls, bool Explicit, bool RequireOperatorKey, bool Dashboard, bool MetricsOnPublicPort)
{
    public bool Enabled => Urls.Count > 0;

    /// <param name="embedded">The all-in-one node (SQLite storage): management on localhost and the dashboard on by default.</param>
    /// <exception cref="OptionsValidationException">A management URL shares a port with the public API (<c>urls</c>).</exception>
    public static ManagementSettings Resolve(IConfiguration configuration, bool embedded)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = configuration.GetSection(ManagementOptions.Section).Get<ManagementOptions>() ?? new ManagementOptions();
        var dashboard = configuration.GetSection(DashboardSettings.Section).Get<DashboardSettings>() ?? new DashboardSettings();
        var configured = options.Urls?.Trim();
        var urls = configured switch
        {
            null or "" => embedded ? [ManagementOptions.EmbeddedDefaultUrl] : [],
            _ when string.Equals(configured, "none", StringComparison.OrdinalIgnoreCase) => [],
            _ => configured.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        };

        var publicPorts = Ports(configuration["urls"]);
        if (urls.FirstOrDefault(u => Port(u) is { } port && port != 0 && publicPorts.Contains(port)) is { } shared)
        {
            throw new OptionsValidationException(ManagementOptions.Section, typeof(ManagementOptions),
                [$"{ManagementOptions.Section}:Urls ({shared}) shares a port with the public API (urls): the management port must be a port of its own."]);
        }

        var dashboardOn = urls.Length > 0 && (dashboard.Enabled ?? embedded);
        if (urls.Length > 0 && (options.RequireOperatorKey || dashboardOn) && !embedded && string.IsNullOrWhiteSpace(configuration["Vivim:OperatorKey"]))
        {
            throw new OptionsValidationException(ManagementOptions.Section, typeof(ManagementOptions),
                [$"Vivim:OperatorKey is not set: the management port ({string.Join(", ", urls)}) answers only requests with the operator key; set it from the secret store."]);
        }

        // A configured port that is taken is one clear line at start (the embedded default is skipped instead).
        if (configured is { Length: > 0 })
        {
            foreach (var url in urls)
            {
                if (Port(url) is { } port && port != 0 && !ListenPorts.IsFree(Address(url), port))
                {
                    throw new PortInUseException(port, $"the management port, {url}", "--" + ManagementOptions.Section + ":Urls", "http://<address>:<another port>");
                }
            }
        }

        return new ManagementSettings(urls, urls.Length > 0 && configured is { Length: > 0 }, options.RequireOperatorKey, dashboardOn, options.MetricsOnPublicPort);
    }

    private static System.Net.IPAddress Address(string url)
    {
        var authority = url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..].Split('/')[0];
        var host = authority[..Math.Max(0, authority.LastIndexOf(':'))].Trim('[', ']');
        return host == "localhost" ? System.Net.IPAddress.Loopback : System.Net.IPAddress.TryParse(host, out var address) ? address : System.Net.IPAddress.Any;
    }

    private static HashSet<int> Ports(string? urls) =>
        [.. (urls ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Port).OfType<int>()];

    private static int? Port(string url)
    {
        var authority = url.Contains("://", StringComparison.Ordinal) ? url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..].Split('/')[0] : url;
        var colon = authority.LastIndexOf(':');
        return colon >= 0 && !authority.EndsWith(']') && int.TryParse(authority[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) ? port : null;
    }
}
