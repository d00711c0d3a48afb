using System.Text.Json.Nodes;
using Vivim.Gateway.Api;
using Vivim.Gateway.Auth;

namespace Vivim.Gateway.P2p;

/// <summary><c>GET /v1/p2p</c> (public): the answering gateway's libp2p peer id, announce addresses and protocols.</summary>
public static class P2pEndpoints
{
    public static void MapP2pEndpoints(this IEndpointRouteBuilder v1, ApiAuthentication auth)
    {
        ArgumentNullException.ThrowIfNull(auth);
        v1.MapGet("/p2p", Describe).AddEndpointFilter(auth.PublicAsync).WithTags("libp2p").WithName("getP2pPeer")
            .WithSummary("This gateway's libp2p peer: peer id, announce addresses and the protocols it serves");
    }

    private static IResult Describe(GatewayPeerService peers)
    {
        if (!peers.Enabled)
        {
            return ApiProblem.NotFound("libp2p is disabled on this gateway (Vivim:P2p:Enabled=false).");
        }

        if (peers.Peer is not { } peer)
        {
            return ApiProblem.Create(StatusCodes.Status503ServiceUnavailable, "unavailable", "This gateway's libp2p peer is not running (starting or stopping); try again shortly.");
        }

        return ApiJson.Object(new JsonObject
        {
            ["peerId"] = peer.PeerId.ToString(),
            ["multiaddrs"] = new JsonArray([.. peer.AnnounceAddresses.Select(a => JsonValue.Create(a.WithoutPeerId().ToString()))]),
            ["protocols"] = new JsonArray([.. peer.Protocols.Select(p => JsonValue.Create(p))]),
        });
    }
}
