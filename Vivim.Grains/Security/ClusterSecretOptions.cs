using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Vivim.Hosting;

namespace Vivim.Security;

/// <summary>
/// <c>Vivim:ClusterSecret</c>: the base64 key (at least 32 bytes) every silo and gateway of a cluster shares to MAC and
/// verify the principals gateways pass into grain calls. Production sets it from a secret store; the embedded node
/// creates its own in the data directory.
/// </summary>
public sealed class ClusterSecretOptions
{
    public const string Section = "Vivim";

    public string? ClusterSecret { get; set; }
}
