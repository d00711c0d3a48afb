namespace Vivim.Management;

/// <summary><c>Vivim:Dashboard</c>: the Orleans dashboard at <c>/dashboard</c> on the management port, behind the operator key.</summary>
public sealed class DashboardSettings
{
    public const string Section = "Vivim:Dashboard";

    /// <summary>Unset: on in the embedded node (whose management port is localhost only), off in a cluster.</summary>
    public bool? Enabled { get; set; }
}
