using Vivim.Anchors;
using Vivim.Client.Http;
using Vivim.Client.Sync;
using Vivim.Libp2p.Core;
using Vivim.Tests.Support;

namespace Vivim.Tests.Client.P2p;

/// <summary>What the tests of clones on libp2p share against the in-process gateway.</summary>
internal static class P2pCloneTestKit
{
    /// <summary>Live sync only from notices: no periodic pulls or head checks that would hide a broken GossipSub path.</summary>
    public static SyncOptions LiveOnly => new() { VerifyAuthorSignatures = true, ReconcileInterval = TimeSpan.FromHours(1) };

    /// <summary>The gateway's own libp2p peer, as <c>GET /v1/p2p</c> gives it: all a clone needs to find the DHT.</summary>
    public static async Task<IReadOnlyList<Multiaddr>> BootstrapAsync(GatewayFixture gateway, CancellationToken ct) =>
        (await GatewayP2pPeer.GetAsync(gateway.BaseAddress, cancellationToken: ct)).Dialable;

    public static async Task<string> AnchorRootAsync(GatewayFixture gateway, string did)
    {
        using (gateway.Principals.Enter(Vivim.Security.CallPrincipal.Operator))
        {
            return (await gateway.Grains.GetGrain<IAnchorStateGrain>(did).GetHeadAsync()).Root;
        }
    }
}
