using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Vivim.Feeds;

/// <summary>How a <see cref="DidFeed"/> runs.</summary>
public sealed record DidFeedOptions
{
    /// <summary>
    /// How often the feed asks the anchor for its head at most. It asks at every lease renewal anyway (a quarter of the
    /// lease the anchor grants), so a longer interval, or none (<see cref="Timeout.InfiniteTimeSpan"/>), changes nothing.
    /// </summary>
    public TimeSpan ReconcileInterval { get; init; } = Timeout.InfiniteTimeSpan;

    /// <summary>The clock of renewals and reconciles.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Entered around each call into the cluster (a principal to act as), or null.</summary>
    public Func<IDisposable>? CallScope { get; init; }

    public ILogger Logger { get; init; } = NullLogger.Instance;
}
