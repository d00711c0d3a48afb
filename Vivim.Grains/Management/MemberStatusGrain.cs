using Orleans.Concurrency;
using Orleans.Placement;
using Orleans.Runtime;

namespace Vivim.Management;

/// <summary>
/// Answers for the process it runs in (<see cref="ManagementStatus.LocalActivity"/>). Random placement honours the
/// placement hint the caller sets, which puts it on the silo its key names; an activation that landed elsewhere (the
/// silo left first) says so and goes away rather than report another process's figures.
/// </summary>
[RandomPlacement]
[Reentrant]
public sealed class MemberStatusGrain(ILocalSiloDetails silo, IEnumerable<ICloneLagSource> lagSources) : Grain, IMemberStatusGrain
{
    public Task<MemberActivity?> ReadAsync()
    {
        if (!string.Equals(this.GetPrimaryKeyString(), silo.SiloAddress.ToParsableString(), StringComparison.Ordinal))
        {
            DeactivateOnIdle();
            return Task.FromResult<MemberActivity?>(null);
        }

        return Task.FromResult<MemberActivity?>(ManagementStatus.LocalActivity(lagSources));
    }
}
