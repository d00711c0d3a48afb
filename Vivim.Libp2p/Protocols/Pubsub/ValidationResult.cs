namespace Vivim.Libp2p.Protocols.Pubsub;

public enum ValidationResult
{
    Accept,
    /// <summary>Invalid: not delivered, not forwarded, counts against the sender (P4).</summary>
    Reject,
    /// <summary>Dropped silently: not delivered, not forwarded, no penalty.</summary>
    Ignore,
}
