using System.Text.Json.Nodes;
using Vivim.ExitNodes;
using Vivim.Protocol.Model;

namespace Vivim.Gateway.Api;

/// <summary>
/// The public discovery and registration calls, shared by the HTTP routes and <c>/vivim/exit-node/1.0.0</c> and
/// <c>/vivim/clone/1.0.0</c>. The caller applies the per-DID rate limit and runs this as the public principal.
/// </summary>
public static class RegistrationCalls
{
    public static Task<ExitNodeAdvertisement> AdvertisementAsync(IGrainFactory grains, string did) =>
        grains.GetGrain<IExitNodeGrain>(did).GetAdvertisementAsync();

    /// <summary>A single-use challenge for <c>{did, nonce}</c>.</summary>
    public static Task<RegistrationChallenge> ChallengeAsync(IGrainFactory grains, string did, JsonObject body)
    {
        ApiJson.OnlyMembers(body, "did", "nonce");
        var cloneDid = RequestBounds.Did(ApiJson.String(body, "did", RequestBounds.MaxDidChars, required: true));
        var nonce = RequestBounds.Nonce(ApiJson.String(body, "nonce", RequestBounds.MaxNonceChars, required: true));
        return grains.GetGrain<IExitNodeGrain>(did).IssueChallengeAsync(cloneDid, nonce);
    }

    /// <summary>The SDK's CloneRegistrationRequest; denials are answers too (the SDK reads their <c>denialReason</c>).</summary>
    public static Task<CloneRegistrationResponse> RegisterAsync(IGrainFactory grains, string did, JsonObject request) =>
        grains.GetGrain<IExitNodeGrain>(did).RegisterAsync(RequestBounds.Registration(ApiJson.Read<CloneRegistrationRequest>(request)));
}
