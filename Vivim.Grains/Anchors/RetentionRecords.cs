namespace Vivim.Anchors;

/// <summary>A clone's acknowledged seq and when it was reported (Unix ms).</summary>
[GenerateSerializer, Immutable, Alias("vivim.CloneCursor")]
public sealed record CloneCursor(long Seq, long SeenAt);

/// <summary>The log was truncated through <see cref="Seq"/>, whose root was <see cref="Root"/> (at Unix ms <see cref="At"/>).</summary>
[GenerateSerializer, Immutable, Alias("vivim.RetentionCheckpoint")]
public sealed record RetentionCheckpoint(long Seq, string Root, long At);
