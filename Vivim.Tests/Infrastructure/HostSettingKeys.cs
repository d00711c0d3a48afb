using System.Collections;
using System.Reflection;
using Vivim.Gateway.Hosting;
using Vivim.Gateway.P2p;
using Vivim.Hosting;
using Vivim.Keys;
using Vivim.Security;

namespace Vivim.Tests.Infrastructure;

/// <summary>
/// Which environment variables a Vivim host reads: a deployment's settings are checked against the options classes
/// themselves, so a misspelt key (one the hosts would silently ignore) fails a test instead of a deployment. Judged
/// are the connection string, the <c>Vivim</c> section's own settings and the sections below that bind to the classes
/// listed here; other sections (<c>Logging</c>, <c>Vivim:Management</c> …) belong to their own tests.
/// </summary>
internal static class HostSettingKeys
{
    /// <summary>Sections bound to options classes: a key below one must name one of its properties.</summary>
    private static readonly (string Section, Type Options)[] Sections =
    [
        (VivimStorageOptions.Section, typeof(VivimStorageOptions)),
        (KeyVaultOptions.Section, typeof(KeyVaultOptions)),
        (P2pOptions.Section, typeof(P2pOptions)),
        (GatewayOptions.Section, typeof(GatewayOptions)),
        (VivimSiloOptions.Section, typeof(VivimSiloOptions)),
        (ClusterSecretOptions.Section, typeof(ClusterSecretOptions)),
    ];

    /// <summary>Keys read one by one rather than bound.</summary>
    private static readonly HashSet<string> DirectKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        VivimStorageOptions.Section, // the short form: Vivim:Storage=Postgres|Azure
        "ConnectionStrings:Vivim", // the short form's connection string
        "Vivim:OperatorKey", // Vivim.Gateway/Auth/OperatorKey.cs
        "AZURE_CLIENT_ID", // DefaultAzureCredential: which user-assigned identity
    };

    /// <summary>
    /// Keys of the Azure configuration contract (issue 18) whose options member arrives with Vivim:Storage=Azure's host
    /// wiring: <c>VivimStorageOptions.TablePrefix</c>. Once it is a property the check above covers it by itself.
    /// </summary>
    private static readonly HashSet<string> AzureContractKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        "Vivim:Storage:TablePrefix",
    };

    /// <summary>The configuration key of environment variable <paramref name="name"/> (<c>__</c> is <c>:</c>).</summary>
    public static string ConfigurationKey(string name) => name.Replace("__", ":", StringComparison.Ordinal);

    /// <summary>The names in <paramref name="environmentNames"/> that no Vivim host reads.</summary>
    public static IReadOnlyList<string> Unread(IEnumerable<string> environmentNames) =>
        [.. environmentNames.Where(name => !IsRead(ConfigurationKey(name)))];

    private static bool IsRead(string key)
    {
        if (DirectKeys.Contains(key) || AzureContractKeys.Contains(key))
        {
            return true;
        }

        if (key.StartsWith("ConnectionStrings:", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (!key.StartsWith(VivimSiloOptions.Section + ":", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        var segments = key.Split(':');
        var isJudged = segments.Length == 2 || Sections.Any(s => s.Section.Split(':') is { Length: 2 } parts && string.Equals(parts[1], segments[1], StringComparison.OrdinalIgnoreCase));
        if (!isJudged)
        {
            return true;
        }

        // The longest section the key lies in decides (Vivim:P2p:… before Vivim:…).
        foreach (var (section, options) in Sections.OrderByDescending(s => s.Section.Length))
        {
            if (!key.StartsWith(section + ":", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var path = key[(section.Length + 1)..].Split(':');
            var property = options.GetProperty(path[0], BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            if (property is { CanWrite: true } || property?.PropertyType.IsAssignableTo(typeof(IEnumerable)) == true)
            {
                // A scalar takes no further segment; a list or dictionary takes exactly one (its index or key).
                var isCollection = property.PropertyType != typeof(string) && property.PropertyType.IsAssignableTo(typeof(IEnumerable));
                if (path.Length == (isCollection ? 2 : 1))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
