namespace Vivim.Gateway.P2p.Ownership;

/// <summary><c>Vivim:P2p:Ownership</c>.</summary>
public sealed class DidOwnershipOptions
{
    public const string Section = "Vivim:P2p:Ownership";

    /// <summary>
    /// How often the whole hosted-DID directory is read again. Creates and deletes arrive as notices at once; the
    /// rescan catches a notice lost with a dying silo.
    /// </summary>
    public TimeSpan RescanInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How soon membership is looked at again while an active silo's role (its metadata) is still unknown.</summary>
    public TimeSpan UndecidedRecheckInterval { get; set; } = TimeSpan.FromMilliseconds(500);
}
