namespace Vivim.ExitNodes;

/// <summary>Configuration section <c>Vivim:ExitNodes</c>: the registration flow's timings and limits (SDK defaults).</summary>
public sealed class ExitNodeOptions
{
    public const string Section = "Vivim:ExitNodes";

    /// <summary>How long an issued challenge may be answered (the SDK's <c>challengeTimeout</c>).</summary>
    public TimeSpan ChallengeTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Registration requests per requesting DID per minute before <c>Rate limit exceeded</c>.</summary>
    public int RegistrationsPerMinute { get; set; } = 10;

    /// <summary>
    /// How long spent nonces are remembered. A request is only accepted within ±5 min of its timestamp, so twice that
    /// covers every request that could still carry a remembered nonce.
    /// </summary>
    public TimeSpan NonceRetention { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Challenges one exit node keeps waiting for their answer (each lives <see cref="ChallengeTimeout"/>). Beyond it a
    /// request for another is refused with <c>Rate limit exceeded</c>: unproven callers cannot grow a node's memory.
    /// </summary>
    public int MaxPendingChallenges { get; set; } = 1024;
}
