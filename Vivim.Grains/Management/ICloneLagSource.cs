namespace Vivim.Management;

/// <summary>How far this process's connected clones are behind their DIDs' heads now (the gateway's session hub).</summary>
public interface ICloneLagSource
{
    CloneLagSnapshot Read();
}

/// <param name="Sessions">Live sessions measured.</param>
/// <param name="Max">The largest head − cursor among them.</param>
/// <param name="Total">The sum of head − cursor over them.</param>
public sealed record CloneLagSnapshot(int Sessions, long Max, long Total);
