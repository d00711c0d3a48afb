using Microsoft.Extensions.Options;
using Vivim.Anchors;
using Vivim.Gateway.Limits;
using Vivim.Security;

namespace Vivim.Gateway.P2p.Protocols;

/// <summary>What every <c>/vivim/*</c> protocol needs: the cluster, the principals it acts as, the gateway's buckets and its limits.</summary>
public sealed record VivimProtocolContext(
    IGrainFactory Grains,
    CallPrincipals Principals,
    GatewayRateLimiter Limiter,
    HostedDidGate HostedDids,
    PeerFloodGuard FloodGuard,
    IOptions<AnchorOptions> Anchor,
    IOptions<VivimProtocolOptions> Options);
