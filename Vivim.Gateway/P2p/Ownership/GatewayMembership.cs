using Orleans.Runtime.MembershipService.SiloMetadata;
using Vivim.Hosting;

namespace Vivim.Gateway.P2p.Ownership;

/// <summary>
/// The cluster's active gateway silos: members whose status is Active and whose silo metadata says
/// <c>vivim.role=gateway</c>. A restarted silo has a new generation, so it is a new member with a new identity.
/// </summary>
public sealed class GatewayMembership(IClusterMembershipService membership, ISiloMetadataCache metadata, ILocalSiloDetails local)
{
    public SiloAddress Self => local.SiloAddress;

    public ClusterMembershipSnapshot CurrentSnapshot => membership.CurrentSnapshot;

    public IAsyncEnumerable<ClusterMembershipSnapshot> Updates => membership.MembershipUpdates;

    /// <summary>
    /// The active gateways of <paramref name="snapshot"/> in a stable order; <paramref name="undecided"/> is true when
    /// some active silo's metadata has not arrived yet (it is asked for when the silo joins), so the answer may grow.
    /// </summary>
    public IReadOnlyList<SiloAddress> ActiveGateways(ClusterMembershipSnapshot snapshot, out bool undecided)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        undecided = false;
        var gateways = new List<SiloAddress>();
        foreach (var member in snapshot.Members.Values)
        {
            if (member.Status != SiloStatus.Active)
            {
                continue;
            }

            var labels = metadata.GetSiloMetadata(member.SiloAddress).Metadata;
            if (labels.TryGetValue(SiloRoles.MetadataKey, out var role))
            {
                if (string.Equals(role, SiloRoles.Gateway, StringComparison.Ordinal))
                {
                    gateways.Add(member.SiloAddress);
                }
            }
            else
            {
                undecided = true;
            }
        }

        gateways.Sort((a, b) => string.CompareOrdinal(IdentityOf(a), IdentityOf(b)));
        return gateways;
    }

    /// <summary>The identity a silo is hashed by: its address with its generation.</summary>
    public static string IdentityOf(SiloAddress silo)
    {
        ArgumentNullException.ThrowIfNull(silo);
        return silo.ToParsableString();
    }
}
