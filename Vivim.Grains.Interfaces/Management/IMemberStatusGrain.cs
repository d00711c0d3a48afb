namespace Vivim.Management;

/// <summary>
/// One cluster member's own figures for <c>/status</c>, asked of that member: keyed by the silo's address (its
/// parsable form, which names one incarnation) and placed on it through Orleans' placement hint.
/// </summary>
[Alias("vivim.IMemberStatusGrain")]
public interface IMemberStatusGrain : IGrainWithStringKey
{
    /// <returns>Null when this activation is not on the silo its key names (that silo left before it was placed).</returns>
    [Alias("Read")]
    Task<MemberActivity?> ReadAsync();
}

/// <summary>What one process committed since it started, and the clones connected to it now with their lag.</summary>
[GenerateSerializer, Immutable, Alias("vivim.MemberActivity")]
public sealed record MemberActivity(
    long Commits,
    long UpdatesCommitted,
    long Sessions,
    long ConnectedClones,
    int LagSessions,
    long MaxCloneLag,
    long TotalCloneLag);
