namespace Vivim.Anchors;

/// <summary>The anchor publishes on its stream for <see cref="Duration"/> from the call; <see cref="Head"/> is its head at the call.</summary>
[GenerateSerializer, Immutable, Alias("vivim.ListenerLease")]
public sealed record ListenerLease(AnchorHead Head, TimeSpan Duration);
