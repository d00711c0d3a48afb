namespace Vivim.Gateway.P2p.Protocols;

/// <summary>Configuration section <c>Vivim:P2p</c>: limits of the <c>/vivim/*</c> stream protocols.</summary>
public sealed class VivimProtocolOptions
{
    public const string Section = "Vivim:P2p";

    /// <summary>The largest request message; a longer length prefix resets the stream.</summary>
    public int MaxRequestBytes { get; set; } = 1024 * 1024;

    /// <summary>The largest answer; a larger one is answered <c>too-large</c> instead.</summary>
    public int MaxAnswerBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>How long a dialer may take to send its request (and to take the answer) before the stream is reset.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A peer refused this many times by the rate limits within <see cref="FloodWindow"/> is disconnected.</summary>
    public int FloodRefusals { get; set; } = 50;

    public TimeSpan FloodWindow { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// <c>/vivim/sync</c> streams one clone may have answered at once; more are refused <c>rate-limited</c>. Each open
    /// stream holds a grain call and an answer buffer, and an SDK clone needs one or two.
    /// </summary>
    public int MaxSyncStreamsPerClone { get; set; } = 4;
}
