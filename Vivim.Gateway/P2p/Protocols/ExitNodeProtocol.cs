using System.Text.Json.Nodes;
using Vivim.Gateway.Api;
using Vivim.Libp2p.Host;
using Vivim.Security;

namespace Vivim.Gateway.P2p.Protocols;

/// <summary><c>/vivim/exit-node/1.0.0</c>: <c>{did}</c> → the signed ExitNodeAdvertisement, as <c>GET /v1/exit-nodes/{did}/advertisement</c>.</summary>
public sealed class ExitNodeProtocol(VivimProtocolContext context, ILogger<ExitNodeProtocol> logger) : VivimStreamProtocol(context, logger)
{
    public const string Id = "/vivim/exit-node/1.0.0";

    public override string ProtocolId => Id;

    protected override async Task<byte[]> AnswerAsync(JsonObject request, Libp2pStream stream, CancellationToken cancellationToken)
    {
        ApiJson.OnlyMembers(request, "did");
        var did = RequestBounds.Did(ApiJson.String(request, "did", RequestBounds.MaxDidChars, required: true));
        await Context.HostedDids.RequireAsync(did, cancellationToken);
        Context.Limiter.ForDid(did);
        using (Context.Principals.Enter(CallPrincipal.Public))
        {
            return Protocol(await RegistrationCalls.AdvertisementAsync(Context.Grains, did));
        }
    }
}
