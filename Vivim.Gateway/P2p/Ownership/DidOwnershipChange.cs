namespace Vivim.Gateway.P2p.Ownership;

/// <summary>One change of this gateway's share: DIDs acquired and DIDs released.</summary>
public sealed class DidOwnershipChange(IReadOnlyList<string> acquired, IReadOnlyList<string> released) : EventArgs
{
    public IReadOnlyList<string> Acquired { get; } = acquired;

    public IReadOnlyList<string> Released { get; } = released;
}
