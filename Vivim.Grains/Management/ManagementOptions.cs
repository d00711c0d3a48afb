namespace Vivim.Management;

/// <summary>
/// <c>Vivim:Management</c>: the management port, a Kestrel server of its own (never the public API's) serving
/// <c>/metrics</c>, <c>/status</c> and, with <c>Vivim:Dashboard:Enabled</c>, <c>/dashboard</c>.
/// </summary>
public sealed class ManagementOptions
{
    public const string Section = "Vivim:Management";

    /// <summary>What the embedded node listens on when <see cref="Urls"/> is unset: this machine only.</summary>
    public const string EmbeddedDefaultUrl = "http://localhost:9464";

    /// <summary>
    /// Listen URLs, separated by <c>;</c> (for a pod: <c>http://0.0.0.0:9464</c>). Unset: off in a clustered silo or
    /// gateway, <see cref="EmbeddedDefaultUrl"/> in the embedded node (which carries on without it, with a warning,
    /// when that port is taken). <c>none</c>: off everywhere.
    /// </summary>
    public string? Urls { get; set; }

    /// <summary>
    /// <c>/metrics</c> and <c>/status</c> answer only requests with the operator key (Bearer, or Basic with the key as
    /// the password). The dashboard always requires it.
    /// </summary>
    public bool RequireOperatorKey { get; set; } = true;

    /// <summary>A gateway also serves <c>/metrics</c> on its public API port (with the same key rule); off by default.</summary>
    public bool MetricsOnPublicPort { get; set; }
}
