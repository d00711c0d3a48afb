using System.Net;
using System.Text.Json.Nodes;
using Vivim.Client.Http;
using Vivim.Client.Registration;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Model;

namespace Vivim.Client.P2p;

/// <summary>
/// An exit node reached over libp2p through a gateway peer: its advertisement on <c>/vivim/exit-node/1.0.0</c>
/// (verified, and it must name the peer that answers), challenges and registrations on <c>/vivim/clone/1.0.0</c>.
/// </summary>
/// <param name="throughRelay">The peer is a relay clone passing the requests on: the advertisement names the gateway, not it.</param>
public sealed class P2pExitNode(Libp2pHost host, Multiaddr gateway, bool throughRelay = false) : IExitNodeChannel
{
    public const string ExitNodeProtocolId = "/vivim/exit-node/1.0.0";
    public const string CloneProtocolId = "/vivim/clone/1.0.0";

    public Multiaddr Gateway { get; } = gateway;

    public async Task<ExitNodeAdvertisement> GetAdvertisementAsync(string did, CancellationToken cancellationToken = default)
    {
        var json = await VivimStreamClient.RequestAsync(host, Gateway, ExitNodeProtocolId, new JsonObject { ["did"] = did }, cancellationToken).ConfigureAwait(false);
        var advertisement = AdvertisementVerifier.Verify(json, did);
        if (!throughRelay && Gateway.PeerId is { } peer && !string.Equals(advertisement.PeerId, peer.ToString(), StringComparison.Ordinal))
        {
            throw new AdvertisementVerificationException($"The advertisement names peer {advertisement.PeerId}, not {peer}, which answered for it.");
        }

        return advertisement;
    }

    public async Task<RegistrationChallenge> RequestChallengeAsync(string did, string cloneDid, string nonce, CancellationToken cancellationToken = default)
    {
        var json = await VivimStreamClient.RequestAsync(host, Gateway, CloneProtocolId, new JsonObject { ["type"] = "challenge", ["exitNode"] = did, ["did"] = cloneDid, ["nonce"] = nonce }, cancellationToken).ConfigureAwait(false);
        return GatewayHttp.Model<RegistrationChallenge>(json, HttpStatusCode.OK);
    }

    public async Task<CloneRegistrationResponse> RegisterAsync(string did, CloneRegistrationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var json = await VivimStreamClient.RequestAsync(host, Gateway, CloneProtocolId, new JsonObject { ["type"] = "register", ["exitNode"] = did, ["request"] = ProtocolModel.ToJsonObject(request) }, cancellationToken).ConfigureAwait(false);
        return GatewayHttp.Model<CloneRegistrationResponse>(json, HttpStatusCode.OK);
    }
}
