namespace Vivim.Tests.Support;

/// <summary>
/// Tests that measure a process's memory, log and latency against a baseline taken in the same run: never in parallel
/// with another test, whose load would be measured too.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ResourceMeasurementCollection
{
    public const string Name = "resource measurements";
}
