using Microsoft.Extensions.Options;
using Vivim.ExitNodes;
using Vivim.Gateway.Auth;
using Vivim.Gateway.Hosting;
using Vivim.Gateway.Limits;
using Vivim.Protocol.Model;

namespace Vivim.Gateway.Api;

/// <summary>Public: an exit node's advertisement, its challenge, and the SDK's registration flow.</summary>
public static class DiscoveryEndpoints
{
    public static void MapDiscoveryEndpoints(this IEndpointRouteBuilder v1, ApiAuthentication auth)
    {
        var open = v1.MapGroup("/exit-nodes/{did}").AddEndpointFilter(auth.PublicAsync).WithTags("Discovery and registration");
        open.MapGet("/advertisement", AdvertisementAsync).WithName("getAdvertisement").WithSummary("The signed ExitNodeAdvertisement");
        open.MapPost("/challenge", ChallengeAsync).WithName("createChallenge").WithSummary("A single-use registration challenge");
        open.MapPost("/register", RegisterAsync).WithName("registerClone").WithSummary("The SDK's CloneRegistrationRequest; answers the SDK's CloneRegistrationResponse");
    }

    private static async Task<IResult> AdvertisementAsync(string did, IGrainFactory grains, GatewayRateLimiter limiter)
    {
        limiter.ForDid(did);
        return ApiJson.Protocol(await grains.GetGrain<IExitNodeGrain>(did).GetAdvertisementAsync());
    }

    private static async Task<IResult> ChallengeAsync(HttpContext context, string did, IGrainFactory grains, GatewayRateLimiter limiter, IOptions<GatewayOptions> options)
    {
        limiter.ForDid(did);
        var body = await ApiJson.ReadObjectAsync(context, options.Value.MaxSmallBodyBytes);
        ApiJson.OnlyMembers(body, "did", "nonce");
        var cloneDid = ApiJson.String(body, "did", 128, required: true)!;
        var nonce = ApiJson.String(body, "nonce", 256, required: true)!;
        var challenge = await grains.GetGrain<IExitNodeGrain>(did).IssueChallengeAsync(cloneDid, nonce);
        return ApiJson.Protocol(challenge);
    }

    private static async Task<IResult> RegisterAsync(HttpContext context, string did, IGrainFactory grains, GatewayRateLimiter limiter, IOptions<GatewayOptions> options)
    {
        limiter.ForDid(did);
        var body = await ApiJson.ReadObjectAsync(context, options.Value.MaxSmallBodyBytes);
        var request = ApiJson.Read<CloneRegistrationRequest>(body);
        var response = await grains.GetGrain<IExitNodeGrain>(did).RegisterAsync(request);
        var status = response.Approved ? StatusCodes.Status200OK
            : response.DenialReason == DenialReasons.RateLimitExceeded ? StatusCodes.Status429TooManyRequests
            : StatusCodes.Status403Forbidden;
        if (status == StatusCodes.Status429TooManyRequests)
        {
            context.Response.Headers.RetryAfter = "60"; // the SDK's window is a minute per DID
        }

        return ApiJson.Protocol(response, status);
    }
}
