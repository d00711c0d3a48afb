namespace Vivim.Security;

/// <summary>A grain that exists only once created (an exit node, a clone, a tenant): until then it has no record.</summary>
public interface IRecordedGrain
{
    /// <summary>False for an activation of an id that was never created (or was deleted).</summary>
    bool IsRecorded { get; }
}
