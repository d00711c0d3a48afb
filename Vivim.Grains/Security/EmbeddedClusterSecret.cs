using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Vivim.Hosting;

namespace Vivim.Security;

/// <summary>The embedded node's cluster secret when none is configured: <c>cluster.secret</c> in the data directory.</summary>
public sealed class EmbeddedClusterSecret(StorageLocation location, ILogger<EmbeddedClusterSecret> logger) : IPostConfigureOptions<ClusterSecretOptions>
{
    public const string FileName = "cluster.secret";

    public void PostConfigure(string? name, ClusterSecretOptions options)
    {
        if (!string.IsNullOrEmpty(options.ClusterSecret) || location.DataPath is null)
        {
            return;
        }

        var path = Path.Combine(location.DataPath, FileName);
        options.ClusterSecret = Convert.ToBase64String(DataDirectorySecret.LoadOrCreate(path, 32, out var created));
        if (created)
        {
            logger.LogInformation("Created the embedded node's cluster secret at {Path}.", path);
        }
    }
}
