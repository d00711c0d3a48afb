namespace Vivim.Tests.Support;

/// <summary>
/// Tests that run a node on the default ports (8080, 11111, 30000), as a person would: never in parallel with another
/// test. Every other test takes free ports (<see cref="FreePort"/>).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DefaultPortsCollection
{
    public const string Name = "default ports";
}
