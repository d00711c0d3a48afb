using System.Text.Json.Nodes;
using Vivim.Gateway.Api;
using Vivim.Libp2p.Host;
using Vivim.Security;

namespace Vivim.Gateway.P2p.Protocols;

/// <summary>
/// <c>/vivim/clone/1.0.0</c>: a registration challenge, and the SDK's registration exactly as over HTTP (denials are
/// answers, with <c>challenge</c> on "Challenge required"). The identity is proven by <c>identityProof</c>, so the
/// dialer's peer key need not be the clone's.
/// </summary>
public sealed class CloneProtocol(VivimProtocolContext context, ILogger<CloneProtocol> logger) : VivimStreamProtocol(context, logger)
{
    public const string Id = "/vivim/clone/1.0.0";

    public override string ProtocolId => Id;

    protected override async Task<byte[]> AnswerAsync(JsonObject request, Libp2pStream stream, CancellationToken cancellationToken)
    {
        var type = RequestType(request, "challenge", "register");
        var exitNode = RequestBounds.Did(ApiJson.String(request, "exitNode", RequestBounds.MaxDidChars, required: true), "exitNode");
        await Context.HostedDids.RequireAsync(exitNode, cancellationToken);
        Context.Limiter.ForDid(exitNode);
        using (Context.Principals.Enter(CallPrincipal.Public))
        {
            if (type == "challenge")
            {
                return Protocol(await RegistrationCalls.ChallengeAsync(Context.Grains, exitNode, Body(request, "type", "exitNode")));
            }

            ApiJson.OnlyMembers(request, "type", "exitNode", "request");
            var registration = request["request"] as JsonObject ?? throw ApiJson.Bad("'request' must be a CloneRegistrationRequest object.");
            return Protocol(await RegistrationCalls.RegisterAsync(Context.Grains, exitNode, (JsonObject)registration.DeepClone()));
        }
    }
}
