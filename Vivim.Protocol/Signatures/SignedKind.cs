namespace Vivim.Protocol.Signatures;

/// <summary>The kinds of object the protocol signs; the name is part of the v2 signing input.</summary>
public enum SignedKind
{
    StateUpdate,
    StateSnapshot,
    TrustProof,
    ExitNodeAdvertisement,
    AnchorState,
    Commit,
}
